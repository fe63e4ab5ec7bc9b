"""The ``remyfold predict`` job: FASTA files in, one PDB/mmCIF/JSON per record and ``summary.tsv`` out.

Steps of :func:`run_predict`:

1. Check the options, read and validate every FASTA record, check the output folder and the
   device, and resolve the weights — every user error surfaces before any folding. A run that
   fails before the model is loaded leaves no output folder that it created itself.
2. Skip records already finished (see :func:`finished_result`) unless ``overwrite``.
3. Batch the rest by a token budget (:func:`make_batches`) and hand the batches to an executor
   (:class:`BatchExecutor`): :class:`LocalExecutor` loads the model once and folds them here;
   :class:`remyfold.cluster.ClusterExecutor` on Dask workers. Either way :func:`fold_batch` folds
   a batch in one padded forward pass. When a batch raises, its records are retried one by one,
   so one bad record (or an out-of-memory batch) does not sink the others; a record that
   still fails is reported ``failed`` with a one-line reason.
4. For each record write ``<id>.pdb``, ``<id>.cif`` and, last, ``<id>.json`` — the JSON is
   the "finished" marker. ``summary.tsv`` is rewritten after every batch, so an interrupted
   run leaves a consistent summary (records not reached yet are ``pending``).

Every file is written atomically (:mod:`remyfold.io.atomic`). The model is reached only
through the engine API (:class:`remyfold.api.Folder`); tests inject a fake loader.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from remyfold.errors import InputError
from remyfold.io.atomic import write_text_atomic
from remyfold.io.fasta import DEFAULT_MAX_LENGTH, FastaRecord, read_fasta
from remyfold.prediction import CHAIN_IDS, stored_mean_plddt
from remyfold.weights import DEFAULT_WEIGHTS, ResolvedWeights, resolve_weights

#: Default token budget: batch size × longest padded length of a batch.
DEFAULT_MAX_TOKENS_PER_BATCH = 1024
SUMMARY_NAME = "summary.tsv"
SUMMARY_COLUMNS = ("id", "length", "chains", "mean_plddt", "ptm", "iptm", "status", "seconds", "error")
DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


@dataclass
class PredictOptions:
    """Options of one prediction job (the ``remyfold predict`` flags)."""

    out_dir: Path
    weights: str | Path = DEFAULT_WEIGHTS
    device: str = "auto"
    precision: str = "fp32"
    num_recycles: int | None = None
    chunk_size: int | None = None
    threads: int | None = None  # torch CPU threads; None: the cores available to the process
    max_length: int = DEFAULT_MAX_LENGTH
    max_tokens_per_batch: int = DEFAULT_MAX_TOKENS_PER_BATCH
    overwrite: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        if not DEVICE_PATTERN.match(self.device):
            raise InputError(f"--device {self.device}: expected auto, cpu, cuda or cuda:N")
        if self.num_recycles is not None and self.num_recycles < 0:
            raise InputError(f"--num-recycles {self.num_recycles}: must be 0 or more")
        for flag, value in (
            ("--chunk-size", self.chunk_size),
            ("--threads", self.threads),
            ("--max-length", self.max_length),
            ("--max-tokens-per-batch", self.max_tokens_per_batch),
        ):
            if value is not None and value <= 0:
                raise InputError(f"{flag} {value}: must be a positive number")


@dataclass
class RecordResult:
    """One row of ``summary.tsv``; ``status`` is ``ok``, ``skipped``, ``failed`` or ``pending``."""

    id: str
    length: int
    chains: str
    status: str
    mean_plddt: float | None = None
    ptm: float | None = None
    seconds: float | None = None
    error: str = ""
    iptm: float | None = None  # None (an empty cell) for a single chain


class FolderLoader(Protocol):
    """What :func:`run_predict` needs from the engine: its precisions and a way to load a folder."""

    precisions: tuple[str, ...]

    def __call__(self, weights: ResolvedWeights, options: PredictOptions): ...


class EngineLoader:
    """Loads :class:`remyfold.api.Folder` (imported lazily: it pulls in torch and the model)."""

    @property
    def precisions(self) -> tuple[str, ...]:
        from remyfold.api import PRECISIONS

        return tuple(PRECISIONS)

    def __call__(self, weights: ResolvedWeights, options: PredictOptions):
        from remyfold.api import Folder

        return Folder.from_pretrained(weights, device=options.device, precision=options.precision,
                                      chunk_size=options.chunk_size, threads=options.threads)  # fmt: skip


class BatchExecutor(Protocol):
    """Where planned batches are folded (the seam between planning and compute).

    :class:`LocalExecutor` folds them in this process; :class:`remyfold.cluster.ClusterExecutor`
    on the workers of a Dask cluster. Both fold and write each batch with :func:`fold_batch`;
    planning, skipping, ``summary.tsv`` and exit codes stay in :func:`run_predict`.
    """

    loader: FolderLoader

    def check(self, options: PredictOptions) -> None:
        """Raise :class:`~remyfold.errors.RemyfoldError` if the batches cannot be folded (before any work)."""

    def start(self, weights: ResolvedWeights, options: PredictOptions) -> None:
        """Load what folding needs before the first batch (a failure here still counts as before folding)."""

    def fold(self, batches: list[list[FastaRecord]], weights: ResolvedWeights, options: PredictOptions,
             stages=None) -> Iterator[list[RecordResult]]:  # fmt: skip
        """Fold ``batches``; yield lists of results as batches finish (any order, each record once).

        ``stages(batch)``, when given, returns the engine's stage callback for ``batch`` (local folds).
        """


class LocalExecutor:
    """Folds the batches one after another in this process, with one model loaded by ``loader``."""

    def __init__(self, loader: FolderLoader | None = None):
        self.loader = loader if loader is not None else EngineLoader()
        self.folder = None

    def check(self, options: PredictOptions) -> None:
        check_device(options.device)

    def start(self, weights, options) -> None:
        self.folder = self.loader(weights, options)

    def fold(self, batches, weights, options, stages=None):
        if self.folder is None:
            self.start(weights, options)
        for batch in batches:
            yield fold_batch(self.folder, batch, options, progress=stages(batch) if stages else None)


def run_predict(inputs, options: PredictOptions, *, loader: FolderLoader | None = None,
                executor: BatchExecutor | None = None) -> list[RecordResult]:  # fmt: skip
    """Fold every record of the FASTA files ``inputs`` into ``options.out_dir``.

    ``executor`` folds the planned batches (default: :class:`LocalExecutor` with ``loader``).
    Returns one :class:`RecordResult` per record, in input order.

    Raises:
        InputError / WeightsError: bad input, options, output folder, device or weights
            (all checked before any folding).
    """
    executor = executor if executor is not None else LocalExecutor(loader)
    loader = executor.loader
    if options.precision not in loader.precisions:
        raise InputError(f"--precision {options.precision}: choose one of {', '.join(loader.precisions)}")
    records = read_fasta(inputs, max_length=options.max_length)
    created = prepare_out_dir(options.out_dir)
    try:  # until the model is loaded, a failure leaves no folder behind that this run created
        executor.check(options)
        weights = resolve_weights(options.weights)
        results = {record.id: _initial_result(record, options) for record in records}
        write_summary(options.out_dir, list(results.values()))
        todo = [record for record in records if results[record.id].status == "pending"]
        if todo:
            executor.start(weights, options)
    except BaseException:
        remove_created_dirs(created, options.out_dir / SUMMARY_NAME)
        raise
    if todo:
        plan = make_batches(todo, options.max_tokens_per_batch)
        _fold_all(todo, lambda stages: executor.fold(plan, weights, options, stages=stages), options, results,
                  show_progress=options.progress)  # fmt: skip
    return list(results.values())


def _initial_result(record: FastaRecord, options: PredictOptions) -> RecordResult:
    """``skipped`` (with the earlier scores) when finished and not ``overwrite``, else ``pending``."""
    if not options.overwrite:
        done = finished_result(record, options.out_dir)
        if done is not None:
            return done
    return RecordResult(record.id, record.length, chain_summary(record.chains), "pending")


def _fold_all(todo: list[FastaRecord], run_batches, options: PredictOptions, results: dict, *,
              show_progress: bool) -> None:  # fmt: skip
    """Record each finished batch's results in ``results`` and ``summary.tsv``.

    ``run_batches(stages)`` is the executor's iterator of finished batches; ``stages(batch)`` gives
    the engine's stage callback for a batch folded here. The bar counts records; its postfix names
    the batch in flight and the engine's stage.
    """
    from tqdm import tqdm

    with tqdm(total=len(todo), unit="seq", desc="folding", file=sys.stderr, disable=not show_progress) as bar:
        for batch in run_batches(lambda records: stage_reporter(bar, records)):
            for result in batch:
                results[result.id] = result
            write_summary(options.out_dir, list(results.values()))
            bar.update(len(batch))
            failed = sum(result.status == "failed" for result in results.values())
            if failed:
                bar.set_postfix(failed=failed)


def folded_length(record: FastaRecord) -> int:
    """Tokens the model folds for ``record``: its residues plus the engine's linker between chains."""
    from remyfold.api import LINKER

    return record.length + len(LINKER) * (len(record.chains) - 1)


def make_batches(records: list[FastaRecord], max_tokens: int) -> list[list[FastaRecord]]:
    """Group records so that ``len(batch) × longest folded length ≤ max_tokens`` (the engine's planner).

    Shortest first, similar lengths together (little padding); a record over the budget is folded alone.
    """
    from remyfold.api import plan_batches

    lengths = [folded_length(record) for record in records]
    return [[records[i] for i in batch] for batch in plan_batches(lengths, max_tokens)]


def stage_reporter(bar, batch: list[FastaRecord]):
    """A ``progress`` callback showing ``<first id> [+N]: <stage>`` on the bar's postfix."""
    label = batch[0].id + (f" +{len(batch) - 1}" if len(batch) > 1 else "")
    return lambda stage: bar.set_postfix_str(f"{label}: {stage}")


def fold_batch(folder, batch: list[FastaRecord], options: PredictOptions, progress=None) -> list[RecordResult]:
    """Fold ``batch`` in one forward pass and write its outputs; on failure retry record by record.

    ``progress`` (optional) is passed to the engine, which calls it with each stage's name.
    """
    try:
        records = [(r.id, r.sequence) for r in batch]
        predictions = folder.fold_batch(records, num_recycles=options.num_recycles, progress=progress)
        if len(predictions) != len(batch):
            raise RuntimeError(f"the engine returned {len(predictions)} predictions for {len(batch)} records")
    except Exception as err:  # noqa: BLE001 - any engine failure is reported per record
        if len(batch) == 1:
            return [failed_result(batch[0], err)]
        _release_memory(folder)
        return [result for record in batch for result in fold_batch(folder, [record], options, progress)]
    return [_write_record(record, pred, folder, options.out_dir) for record, pred in zip(batch, predictions)]


def _release_memory(folder) -> None:
    """Give cached GPU memory back after a failed batch (it may have run out of memory)."""
    device = getattr(folder, "device", None)
    if getattr(device, "type", None) == "cuda":
        import torch

        torch.cuda.empty_cache()


def failed_result(record: FastaRecord, err: BaseException) -> RecordResult:
    """A ``failed`` row whose error is ``Type: first line of the message``."""
    lines = str(err).strip().splitlines()
    reason = f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__
    return RecordResult(record.id, record.length, chain_summary(record.chains), "failed", error=reason)


def _write_record(record: FastaRecord, pred, folder, out_dir: Path) -> RecordResult:
    """Write ``<id>.pdb``, ``<id>.cif`` then ``<id>.json`` (the finished marker)."""
    from remyfold.io.structure_writer import to_mmcif_string, to_pdb_string

    try:
        write_text_atomic(out_dir / f"{record.id}.pdb", to_pdb_string(pred))
        write_text_atomic(out_dir / f"{record.id}.cif", to_mmcif_string(pred))
        threads = getattr(folder, "threads", None)
        write_text_atomic(out_dir / f"{record.id}.json", prediction_json(pred, device=str(folder.device), threads=threads))
    except Exception as err:  # noqa: BLE001 - a record that cannot be written is failed, the others go on
        return failed_result(record, err)
    return RecordResult(
        record.id, pred.length, chain_summary([c.sequence for c in pred.chains]), "ok",
        mean_plddt=pred.mean_plddt, ptm=float(pred.ptm), seconds=float(pred.seconds), iptm=pred.iptm,
    )  # fmt: skip


def prediction_json(pred, *, device: str, threads: int | None = None) -> str:
    """The ``<id>.json`` text: sequence, chains, scores, per-residue pLDDT ``[N]``, PAE ``[N, N]``, run metadata.

    ``mean_plddt`` is the mean of the per-residue (Cα) ``plddt``; ``mean_plddt_all_atom`` is ESMFold's
    mean over all atoms. ``num_recycles`` recycles ran, in ``trunk_passes`` = ``num_recycles + 1`` passes.
    One top-level key per line; arrays are written compactly, rounded to 2 decimals.
    """
    import numpy as np

    from remyfold import __version__

    data = {
        "id": pred.id,
        "sequence": pred.sequence,
        "chains": [{"id": c.id, "sequence": c.sequence, "length": len(c.sequence)} for c in pred.chains],
        "mean_plddt": round(pred.mean_plddt, 2),
        "mean_plddt_all_atom": round(pred.mean_plddt_all_atom, 2),
        "ptm": round(float(pred.ptm), 4),
        **complex_scores_json(pred),
        "plddt": np.round(np.asarray(pred.residue_plddt, dtype=np.float64), 2).tolist(),
        "pae": np.round(np.asarray(pred.pae, dtype=np.float64), 2).tolist(),
        "max_pae": pred.extra.get("max_pae"),
        "num_recycles": int(pred.num_recycles),
        "trunk_passes": int(pred.num_recycles) + 1,
        "model_name": pred.model_name,
        "weights_revision": pred.weights_revision,
        "precision": pred.precision,
        "device": device,
        "threads": threads,
        "seconds": round(float(pred.seconds), 3),
        "remyfold_version": __version__,
    }
    lines = [f"  {json.dumps(key)}: {json.dumps(value, separators=(',', ':'))}" for key, value in data.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def complex_scores_json(pred) -> dict:
    """The complex scores of ``<id>.json``, ColabFold / AlphaFold 3 names; ``null`` for a single chain.

    ``iptm``, ``ranking_confidence`` (0.8·ipTM + 0.2·pTM), ``actifptm`` rounded to 4 decimals;
    ``chain_pair_iptm`` (diagonal: each chain's pTM) to 4 and ``chain_pair_pae_min`` (Å, rows: the
    chain aligned on) to 2, as ``[C][C]`` lists.
    """
    import numpy as np

    def number(value):
        return None if value is None else round(float(value), 4)

    def matrix(value, digits: int):
        return None if value is None else np.round(np.asarray(value, dtype=np.float64), digits).tolist()

    return {
        "iptm": number(pred.iptm), "ranking_confidence": number(pred.ranking_confidence),
        "actifptm": number(pred.actifptm), "chain_pair_iptm": matrix(pred.chain_pair_iptm, 4),
        "chain_pair_pae_min": matrix(pred.chain_pair_pae_min, 2),
    }  # fmt: skip


def finished_result(record: FastaRecord, out_dir: Path) -> RecordResult | None:
    """A ``skipped`` row if ``record`` was finished by an earlier run, else ``None``.

    Finished means: ``<id>.pdb``, ``<id>.cif`` and ``<id>.json`` exist and the JSON (written
    last) parses and holds the same sequence — a changed sequence under the same id is refolded.
    The row keeps the scores and the fold time (``seconds``) of that earlier run, read from its JSON.
    """
    paths = [out_dir / f"{record.id}{suffix}" for suffix in (".pdb", ".cif", ".json")]
    if not all(path.is_file() for path in paths):
        return None
    try:
        data = json.loads(paths[2].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("sequence") != record.sequence:
        return None
    return RecordResult(
        record.id, record.length, chain_summary(record.chains), "skipped",
        mean_plddt=stored_mean_plddt(data), ptm=data.get("ptm"), seconds=data.get("seconds"),
        iptm=data.get("iptm"),  # None in JSON files written before ipTM existed
    )  # fmt: skip


def chain_summary(chains: list[str]) -> str:
    """``A:120,B:80``: chain ids (A, B, ...) with their lengths."""
    return ",".join(f"{CHAIN_IDS[i]}:{len(sequence)}" for i, sequence in enumerate(chains))


def write_summary(out_dir: Path, results: list[RecordResult]) -> None:
    """Rewrite ``summary.tsv`` atomically: a header, then one tab-separated row per record."""

    def number(value, digits: int) -> str:
        return "" if value is None else f"{float(value):.{digits}f}"

    rows = ["\t".join(SUMMARY_COLUMNS)]
    for r in results:
        error = " ".join(r.error.split())  # no tabs or newlines inside a cell
        fields = [r.id, str(r.length), r.chains, number(r.mean_plddt, 2), number(r.ptm, 4), number(r.iptm, 4),
                  r.status, number(r.seconds, 2), error]  # fmt: skip
        rows.append("\t".join(fields))
    write_text_atomic(out_dir / SUMMARY_NAME, "\n".join(rows) + "\n")


def prepare_out_dir(out_dir: Path) -> list[Path]:
    """Create ``out_dir`` if needed and check it is a writable folder; return the folders created, outermost first."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir} is a file; give a folder for the outputs")
    created = [folder for folder in (out_dir, *out_dir.parents) if not folder.exists()][::-1]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        remove_created_dirs(created)
        raise InputError(f"--out {out_dir}: cannot create the folder ({err.strerror}); choose another place") from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        remove_created_dirs(created)
        raise InputError(f"--out {out_dir}: the folder is not writable; choose another place")
    return created


def remove_created_dirs(created: list[Path], *own_files: Path) -> None:
    """Undo :func:`prepare_out_dir` after an early failure: remove ``own_files`` (this run's) and the
    folders it ``created`` when they are then empty. Nothing else is ever deleted."""
    if not created:
        return
    for path in own_files:
        path.unlink(missing_ok=True)
    for folder in reversed(created):
        try:
            folder.rmdir()  # only succeeds on an empty folder
        except OSError:
            return


def check_device(device: str) -> None:
    """Raise :class:`InputError` when ``device`` asks for a CUDA GPU that is not there (the engine's check)."""
    if device.startswith("cuda"):
        from remyfold.api import resolve_device

        resolve_device(device)
