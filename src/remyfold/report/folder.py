"""Read a ``remyfold predict`` output folder into :class:`Record` objects for the report.

The folder's layout and its reading (``summary.tsv``, ``<id>.json``, the structure file) are
:class:`remyfold.io.prediction_folder.PredictionFolder`'s; ``mean_plddt`` is the mean of the
per-residue (Cα) pLDDT. For a complex the JSON also holds ``iptm``, ``ranking_confidence``,
``actifptm``, ``chain_pair_iptm`` and ``chain_pair_pae_min`` ``[C, C]`` (null or absent for a single
chain and in files from before them); ``summary.tsv``'s ``iptm`` is empty for a single chain.

A row counts as *done* when its status is ``ok`` or ``skipped`` and both its
JSON and a structure file are present; other rows are listed in the report's
table with their error. Every problem is raised as a one-line
:class:`~remyfold.errors.InputError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from remyfold.errors import InputError
from remyfold.io.prediction_folder import DONE_STATUSES, PredictionFolder, optional_number
from remyfold.prediction import stored_mean_plddt

# Run metadata copied from <id>.json into the report, in display order.
META_KEYS = (
    "model_name",
    "weights_revision",
    "num_recycles",
    "precision",
    "device",
    "seconds",
    "remyfold_version",
)


@dataclass
class Record:
    """One prediction of the folder, as shown in the report.

    ``plddt`` is ``[N_res]`` (0–100, each residue's Cα pLDDT) and ``pae`` is ``[N_res, N_res]`` (Å),
    both ``None`` unless the record is done. ``mean_plddt`` is the mean of ``plddt``;
    ``mean_plddt_all_atom`` ESMFold's mean over all atoms (when the JSON has it). ``chains`` lists
    ``(chain_id, n_residues)`` in model order, so chain boundaries are the
    cumulative sums of the lengths. The complex scores (``iptm`` ... ``chain_pair_pae_min``
    ``[C, C]``) are ``None`` for a single chain and for folders written before them.
    """

    id: str
    status: str
    length: int | None = None
    chains: list[tuple[str, int]] = field(default_factory=list)
    mean_plddt: float | None = None
    mean_plddt_all_atom: float | None = None
    ptm: float | None = None
    error: str = ""
    structure: Path | None = None
    plddt: np.ndarray | None = None
    pae: np.ndarray | None = None
    max_pae: float | None = None
    meta: dict = field(default_factory=dict)
    scores: dict | None = None
    iptm: float | None = None
    ranking_confidence: float | None = None
    actifptm: float | None = None
    chain_pair_iptm: np.ndarray | None = None
    chain_pair_pae_min: np.ndarray | None = None

    @property
    def done(self) -> bool:
        """True when the model, pLDDT and PAE were loaded."""
        return self.plddt is not None


def load_folder(pred_dir: Path) -> list[Record]:
    """Read ``summary.tsv`` and every done record's JSON in ``pred_dir``.

    Raises :class:`InputError` when the folder or its summary is missing, when
    no record is done, or when a JSON file is unreadable or inconsistent.
    """
    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        what = "is a file, not a folder" if pred_dir.exists() else "does not exist"
        raise InputError(f"prediction folder {pred_dir} {what}; pass the output folder of `remyfold predict`")
    folder = PredictionFolder(pred_dir)
    records = [_record_from_row(row) for row in folder.summary_rows()]
    if not records:
        raise InputError(f"{pred_dir / 'summary.tsv'} lists no predictions; run `remyfold predict` first")
    for record in records:
        _load_outputs(record, folder)
    if not any(record.done for record in records):
        raise InputError(
            f"no finished predictions in {pred_dir} ({len(records)} rows in summary.tsv, none ok with its files); "
            "nothing to report"
        )
    return records


def parse_chains(text: str) -> list[tuple[str, int]]:
    """Parse a chain list like ``"A:120,B:80"`` into ``[("A", 120), ("B", 80)]``."""
    chains = []
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        chain_id, _, length = item.partition(":")
        try:
            chains.append((chain_id.strip(), int(length)))
        except ValueError:
            raise InputError(f"bad chain list {text!r} in summary.tsv; expected e.g. 'A:120,B:80'") from None
    return chains


def _record_from_row(row: dict[str, str]) -> Record:
    """A :class:`Record` holding only what ``summary.tsv`` says about one row."""
    return Record(
        id=row["id"].strip(),
        status=(row.get("status") or "").strip() or "unknown",
        length=optional_number(row.get("length"), int),
        chains=parse_chains(row.get("chains", "")),
        mean_plddt=optional_number(row.get("mean_plddt")),
        ptm=optional_number(row.get("ptm")),
        iptm=optional_number(row.get("iptm")),
        error=(row.get("error") or "").strip(),
    )


def _load_outputs(record: Record, folder: PredictionFolder) -> None:
    """Fill ``record`` from ``<id>.json`` and locate its structure, if done."""
    if record.status not in DONE_STATUSES:
        return
    json_path = folder.file(record.id, ".json")
    structure = folder.structure_file(record.id)
    if not json_path.is_file() or structure is None:
        missing = json_path.name if not json_path.is_file() else f"{record.id}.pdb/.cif"
        record.error = f"{missing} missing from the folder"
        record.status = "incomplete"
        return
    data = folder.read_json(record.id)
    plddt, pae = _arrays(data, json_path)
    chains = _json_chains(data, json_path)
    if chains and sum(n for _, n in chains) != plddt.shape[0]:
        raise InputError(
            f"{json_path}: chain lengths add up to {sum(n for _, n in chains)}, pLDDT has {plddt.shape[0]}"
        )
    record.structure = structure
    record.plddt, record.pae = plddt, pae
    record.chains = chains or record.chains or [("A", plddt.shape[0])]
    record.length = int(plddt.shape[0])
    record.mean_plddt = stored_mean_plddt(data)
    record.mean_plddt = record.mean_plddt if record.mean_plddt is not None else float(plddt.mean())
    record.mean_plddt_all_atom = optional_number(data.get("mean_plddt_all_atom"))
    record.ptm = optional_number(data.get("ptm"))
    record.max_pae = optional_number(data.get("max_pae"))
    _load_complex_scores(record, data, json_path)
    record.meta = {key: data[key] for key in META_KEYS if data.get(key) is not None}


def _load_complex_scores(record: Record, data: dict, path: Path) -> None:
    """Fill ``record``'s complex scores from its JSON; the matrices must be ``[C, C]`` for its C chains."""
    record.iptm = optional_number(data.get("iptm"))
    record.ranking_confidence = optional_number(data.get("ranking_confidence"))
    record.actifptm = optional_number(data.get("actifptm"))
    for key in ("chain_pair_iptm", "chain_pair_pae_min"):
        if data.get(key) is None:
            continue
        try:
            matrix = np.asarray(data[key], dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"{path}: {key!r} is not a numeric matrix; re-run the prediction") from None
        n = len(record.chains)
        if matrix.shape != (n, n):
            raise InputError(f"{path}: {key!r} has shape {matrix.shape}, expected ({n}, {n}) for {n} chains")
        setattr(record, key, matrix)


def _json_chains(data: dict, path: Path) -> list[tuple[str, int]]:
    """``(chain_id, n_residues)`` pairs from the ``chains`` list of a prediction JSON."""
    try:
        return [(str(c["id"]), int(c.get("length", len(c.get("sequence", ""))))) for c in data.get("chains") or []]
    except (AttributeError, KeyError, TypeError, ValueError):
        raise InputError(f"{path}: 'chains' must be a list of {{id, sequence, length}} objects") from None


def _arrays(data: dict, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """pLDDT ``[N_res]`` and PAE ``[N_res, N_res]`` from a prediction JSON, shape-checked."""
    try:
        plddt = np.asarray(data["plddt"], dtype=np.float64)
        pae = np.asarray(data["pae"], dtype=np.float64)
    except KeyError as err:
        raise InputError(f"{path} has no {err.args[0]!r} entry; re-run the prediction for this record") from None
    except (TypeError, ValueError):
        raise InputError(f"{path}: 'plddt' / 'pae' are not numeric arrays; re-run the prediction") from None
    n_res = plddt.shape[0] if plddt.ndim == 1 else -1
    if n_res < 1 or pae.shape != (n_res, n_res):
        raise InputError(f"{path}: expected plddt [N] and pae [N, N], got shapes {plddt.shape} and {pae.shape}")
    return plddt, pae
