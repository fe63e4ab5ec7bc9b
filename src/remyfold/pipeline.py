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

The folder's files are written and read by :class:`remyfold.io.prediction_folder.PredictionFolder`
(atomically); records and batches come from :mod:`remyfold.sequence`, the engine's settings from
:class:`remyfold.settings.EngineSettings`. The model is reached only through a loader
(:class:`EngineLoader`: :class:`remyfold.api.Folder`); tests inject a fake loader.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from remyfold.devices import check_device
from remyfold.errors import InputError, one_line
from remyfold.io.outputs import prepare_folder_output, remove_created_dirs
from remyfold.io.prediction_folder import SUMMARY_NAME, PredictionFolder, RecordResult
from remyfold.prediction import stored_mean_plddt
from remyfold.sequence import FastaRecord, chain_summary, make_batches, read_fasta
from remyfold.settings import PRECISIONS, EngineSettings
from remyfold.weights import ResolvedWeights, resolve_weights

_ENGINE_FIELDS = frozenset(field.name for field in dataclasses.fields(EngineSettings))


@dataclass(init=False)
class PredictOptions:
    """Options of one prediction job: the engine's :class:`~remyfold.settings.EngineSettings` (checked
    there, once) and where and how the job writes. The engine's settings read as attributes too
    (``options.device``).

    Built as ``PredictOptions(out_dir, engine)`` or with the engine's fields by name
    (``PredictOptions(out_dir, weights=..., device="cpu")``); :func:`dataclasses.replace` takes
    either.
    """

    out_dir: Path
    engine: EngineSettings
    overwrite: bool
    progress: bool

    def __init__(self, out_dir: str | Path, engine: EngineSettings | None = None, *, overwrite: bool = False,
                 progress: bool = True, **engine_fields):  # fmt: skip
        unknown = set(engine_fields) - _ENGINE_FIELDS
        if unknown:
            raise TypeError(f"PredictOptions has no option {sorted(unknown)[0]!r}")
        engine = engine if engine is not None else EngineSettings()
        self.engine = dataclasses.replace(engine, **engine_fields) if engine_fields else engine
        self.out_dir, self.overwrite, self.progress = Path(out_dir), overwrite, progress

    def __getattr__(self, name: str):
        if name in _ENGINE_FIELDS:
            return getattr(self.__dict__["engine"], name)
        raise AttributeError(f"'PredictOptions' has no attribute {name!r}")

    @property
    def folder(self) -> PredictionFolder:
        """The output folder."""
        return PredictionFolder(self.out_dir)


class FolderLoader(Protocol):
    """What :func:`run_predict` needs from the engine: its precisions and a way to load a folder."""

    precisions: tuple[str, ...]

    def __call__(self, weights: ResolvedWeights, options: PredictOptions): ...


class EngineLoader:
    """Loads :class:`remyfold.api.Folder` (imported lazily: it pulls in torch and the model)."""

    precisions: tuple[str, ...] = PRECISIONS

    def __call__(self, weights: ResolvedWeights | str | Path, options: PredictOptions):
        """The engine for ``options``; ``weights`` resolved already, or a name/folder to resolve."""
        from remyfold.api import Folder

        if not isinstance(weights, ResolvedWeights):
            weights = resolve_weights(weights)
        return Folder.from_settings(options.engine, resolved=weights)


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
        options.folder.write_summary(list(results.values()))
        todo = [record for record in records if results[record.id].status == "pending"]
        if todo:
            executor.start(weights, options)
            _check_memory(executor, todo)
    except BaseException:
        remove_created_dirs(created, options.out_dir / SUMMARY_NAME)
        raise
    if todo:
        plan = make_batches(todo, options.max_tokens_per_batch)
        _fold_all(todo, lambda stages: executor.fold(plan, weights, options, stages=stages), options, results,
                  show_progress=options.progress)  # fmt: skip
    return list(results.values())


def _check_memory(executor: BatchExecutor, records: list[FastaRecord]) -> None:
    """Refuse the run before any folding (InputError: need, budget, longest length that fits) when
    the longest record cannot fit in memory on its own — where the engine runs in this process
    (a cluster's workers check their own memory per record)."""
    check = getattr(getattr(executor, "folder", None), "check_fits", None)
    if check is not None:
        longest = max(records, key=lambda record: record.length)
        check([(longest.id, longest.sequence)])


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
            options.folder.write_summary(list(results.values()))
            bar.update(len(batch))
            failed = sum(result.status == "failed" for result in results.values())
            if failed:
                bar.set_postfix(failed=failed)


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
    return RecordResult(record.id, record.length, chain_summary(record.chains), "failed", error=one_line(err))


def _write_record(record: FastaRecord, pred, folder, out_dir: Path) -> RecordResult:
    """Write the record's files (:meth:`PredictionFolder.write_record`); a ``failed`` row if that fails."""
    try:
        PredictionFolder(out_dir).write_record(pred, device=str(folder.device), threads=getattr(folder, "threads", None))
    except Exception as err:  # noqa: BLE001 - a record that cannot be written is failed, the others go on
        return failed_result(record, err)
    return RecordResult(
        record.id, pred.length, chain_summary([c.sequence for c in pred.chains]), "ok",
        mean_plddt=pred.mean_plddt, ptm=float(pred.ptm), seconds=float(pred.seconds), iptm=pred.iptm,
    )  # fmt: skip


def finished_result(record: FastaRecord, out_dir: Path) -> RecordResult | None:
    """A ``skipped`` row if ``record`` was finished by an earlier run (:meth:`PredictionFolder.finished`),
    else ``None``. The row keeps the scores and the fold time (``seconds``) of that earlier run."""
    data = PredictionFolder(out_dir).finished(record.id, record.sequence)
    if data is None:
        return None
    return RecordResult(
        record.id, record.length, chain_summary(record.chains), "skipped",
        mean_plddt=stored_mean_plddt(data), ptm=data.get("ptm"), seconds=data.get("seconds"),
        iptm=data.get("iptm"),  # None in JSON files written before ipTM existed
    )  # fmt: skip


def prepare_out_dir(out_dir: Path) -> list[Path]:
    """Create ``out_dir`` if needed and check it is a writable folder; return the folders created, outermost first."""
    return prepare_folder_output(out_dir)
