"""A prediction folder (what ``remyfold predict`` writes), written and read by one class.

Layout of the folder:

- ``<id>.pdb`` / ``<id>.cif``: the model, pLDDT in the B-factor column.
- ``<id>.json``: the run's record (:func:`prediction_json`): sequence, chains, scores (for a
  complex also ``iptm``, ``ranking_confidence``, ``actifptm``, ``chain_pair_iptm``,
  ``chain_pair_pae_min``: :func:`complex_scores_json`),
  per-residue ``plddt`` ``[N]``, ``pae`` ``[N, N]`` (Å) and run metadata. Written last, it is the
  "finished" marker: a record is finished when its three files exist and the JSON parses and
  holds the same sequence (:meth:`PredictionFolder.finished`).
- ``summary.tsv``: a header (:data:`SUMMARY_COLUMNS`), then one tab-separated row per record
  (:class:`RecordResult`); ``status`` is ``ok``, ``skipped`` (finished by an earlier run),
  ``failed`` or ``pending``. Cells never hold tabs or newlines, so there is no quoting.

:class:`PredictionFolder` is the one writer (the predict pipeline, on a cluster's workers too)
and the one reader (``remyfold report``, the server's results) of this layout. Every file is
written atomically (:mod:`remyfold.io.atomic`); every reading problem is a one-line
:class:`~remyfold.errors.InputError`.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

from remyfold._version import __version__
from remyfold.errors import InputError
from remyfold.io.atomic import write_text_atomic

SUMMARY_NAME = "summary.tsv"
SUMMARY_COLUMNS = ("id", "length", "chains", "mean_plddt", "ptm", "iptm", "status", "seconds", "error")
REQUIRED_COLUMNS = ("id", "status")
#: Statuses of a row whose outputs are in the folder.
DONE_STATUSES = ("ok", "skipped")
#: The structure files of a record, in the order a reader prefers them.
STRUCTURE_SUFFIXES = (".pdb", ".cif")


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


class PredictionFolder:
    """The prediction folder at ``path`` (see the module docstring for its layout)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def summary_path(self) -> Path:
        return self.path / SUMMARY_NAME

    def file(self, record_id: str, suffix: str) -> Path:
        """``<id><suffix>`` in the folder (whether or not it exists), e.g. ``suffix=".pdb"``."""
        return self.path / f"{record_id}{suffix}"

    # --- writing ---------------------------------------------------------------------------

    def write_record(self, pred, *, device: str, threads: int | None = None) -> None:
        """Write ``<id>.pdb``, ``<id>.cif`` then ``<id>.json`` (the finished marker) of ``pred``."""
        from remyfold.io.structure_writer import to_mmcif_string, to_pdb_string

        write_text_atomic(self.file(pred.id, ".pdb"), to_pdb_string(pred))
        write_text_atomic(self.file(pred.id, ".cif"), to_mmcif_string(pred))
        write_text_atomic(self.file(pred.id, ".json"), prediction_json(pred, device=device, threads=threads))

    def write_summary(self, results: list[RecordResult]) -> None:
        """Rewrite ``summary.tsv`` atomically: a header, then one tab-separated row per record."""

        def number(value, digits: int) -> str:
            return "" if value is None else f"{float(value):.{digits}f}"

        rows = ["\t".join(SUMMARY_COLUMNS)]
        for r in results:
            error = " ".join(r.error.split())  # no tabs or newlines inside a cell
            fields = [r.id, str(r.length), r.chains, number(r.mean_plddt, 2), number(r.ptm, 4), number(r.iptm, 4), r.status,
                      number(r.seconds, 2), error]  # fmt: skip
            rows.append("\t".join(fields))
        write_text_atomic(self.summary_path, "\n".join(rows) + "\n")

    # --- reading ---------------------------------------------------------------------------

    def summary_rows(self) -> list[dict[str, str]]:
        """Rows of ``summary.tsv`` as dicts keyed by header names (rows without an id dropped)."""
        path = self.summary_path
        if not path.is_file():
            raise InputError(f"no summary.tsv in {self.path}; is this a `remyfold predict` output folder?")
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
                missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
                if missing:
                    raise InputError(f"{path} has no column {missing[0]!r} in its header; re-run `remyfold predict`")
                return [row for row in reader if (row.get("id") or "").strip()]
        except (OSError, UnicodeDecodeError, csv.Error) as err:
            raise InputError(f"cannot read {path}: {err}") from None

    def results(self) -> list[RecordResult]:
        """``summary.tsv`` as :class:`RecordResult` rows (an empty or non-numeric number cell is ``None``)."""
        return [
            RecordResult(
                id=row["id"].strip(), length=optional_number(row.get("length"), int),  # type: ignore[arg-type]
                chains=(row.get("chains") or "").strip(), status=(row.get("status") or "").strip() or "unknown",
                mean_plddt=optional_number(row.get("mean_plddt")), ptm=optional_number(row.get("ptm")),
                seconds=optional_number(row.get("seconds")), error=(row.get("error") or "").strip(),
                iptm=optional_number(row.get("iptm")),
            )  # fmt: skip
            for row in self.summary_rows()
        ]

    def structure_file(self, record_id: str) -> Path | None:
        """``<id>.pdb`` or else ``<id>.cif``, if either exists."""
        for suffix in STRUCTURE_SUFFIXES:
            path = self.file(record_id, suffix)
            if path.is_file():
                return path
        return None

    def read_json(self, record_id: str) -> dict:
        """``<id>.json`` as a dict, raising :class:`InputError` on any problem."""
        return read_json(self.file(record_id, ".json"))

    def finished(self, record_id: str, sequence: str) -> dict | None:
        """The JSON of a record finished by an earlier run, or ``None``.

        Finished means: ``<id>.pdb``, ``<id>.cif`` and ``<id>.json`` exist and the JSON (written
        last) parses and holds ``sequence`` — a changed sequence under the same id is refolded.
        """
        paths = [self.file(record_id, suffix) for suffix in (*STRUCTURE_SUFFIXES, ".json")]
        if not all(path.is_file() for path in paths):
            return None
        try:
            data = json.loads(paths[-1].read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("sequence") != sequence:
            return None
        return data


def read_json(path: Path) -> dict:
    """Parse a JSON object file, raising :class:`InputError` on any problem."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise InputError(f"cannot read {path}: {err}; re-run the prediction for this record") from None
    if not isinstance(data, dict):
        raise InputError(f"{path} does not hold a JSON object; re-run the prediction for this record")
    return data


def optional_number(text: str | None, kind: type = float):
    """``kind(text)`` or ``None`` for an empty / non-numeric field."""
    try:
        value = kind(text)
    except (TypeError, ValueError):
        return None
    return None if isinstance(value, float) and math.isnan(value) else value


def prediction_json(pred, *, device: str, threads: int | None = None) -> str:
    """The ``<id>.json`` text: sequence, chains, scores, per-residue pLDDT ``[N]``, PAE ``[N, N]``, run metadata.

    ``mean_plddt`` is the mean of the per-residue (Cα) ``plddt``; ``mean_plddt_all_atom`` is ESMFold's
    mean over all atoms. ``num_recycles`` recycles ran, in ``trunk_passes`` = ``num_recycles + 1`` passes.
    One top-level key per line; arrays are written compactly, rounded to 2 decimals.
    """
    import numpy as np

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
        "chunk_size": pred.extra.get("chunk_size"),  # rows per chunk of the pair operations; null: unchunked
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
