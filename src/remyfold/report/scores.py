"""Comparison scores shown beside each prediction in the report.

Two sources, per record:

1. ``--reference REFDIR``: when ``REFDIR`` holds ``<id>.pdb`` / ``<id>.cif``
   (optionally gzipped), the scores are computed now with
   :func:`remyfold.metrics.compare_structures` (TM-score, GDT, lDDT, RMSD).
2. otherwise ``DIR/<id>.compare.json``, the object printed by
   ``remyfold compare --json``, if present.

A record with neither has no scores. Scores are plain dicts with the keys of
``remyfold compare --json``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from pathlib import Path

from remyfold.errors import InputError
from remyfold.io.prediction_folder import read_json
from remyfold.report.folder import Record

REFERENCE_SUFFIXES = (".pdb", ".cif", ".pdb.gz", ".cif.gz")
# (key, column title, format) of the scores shown in the summary table.
TABLE_SCORES = (
    ("tm_score", "TM-score", "{:.3f}"),
    ("gdt_ts", "GDT-TS", "{:.3f}"),
    ("lddt", "lDDT", "{:.3f}"),
    ("rmsd", "RMSD (Å)", "{:.2f}"),
)
# Further scalar scores listed in each record's section.
DETAIL_SCORES = (
    ("gdt_ha", "GDT-HA", "{:.3f}"),
    ("lddt_ca", "lDDT-Cα", "{:.3f}"),
    ("aligned_residues", "aligned residues", "{:d}"),
    ("sequence_identity", "sequence identity", "{:.3f}"),
)


def attach_scores(records: list[Record], pred_dir: Path, reference_dir: Path | None = None, *,
                  warn: Callable[[str], None] | None = None) -> None:  # fmt: skip
    """Set ``record.scores`` for every done record that has a comparison.

    With ``reference_dir``, records having a reference file there are scored
    against it (when none has one, ``warn`` is called with a one-line message);
    the rest, and every record without ``reference_dir``, use
    ``<id>.compare.json`` when present.
    """
    done = [record for record in records if record.done]
    scored = set()
    if reference_dir is not None:
        scored = _score_against_references(done, Path(reference_dir), warn or (lambda message: None))
    for record in done:
        path = Path(pred_dir) / f"{record.id}.compare.json"
        if record.id not in scored and path.is_file():
            record.scores = check_scores(read_json(path), str(path))


def reference_file(reference_dir: Path, record_id: str) -> Path | None:
    """The first of ``<id>.pdb``, ``.cif``, ``.pdb.gz``, ``.cif.gz`` found in ``reference_dir``."""
    for suffix in REFERENCE_SUFFIXES:
        path = reference_dir / f"{record_id}{suffix}"
        if path.is_file():
            return path
    return None


def _score_against_references(records: list[Record], reference_dir: Path, warn: Callable[[str], None]) -> set[str]:
    """Compare each record's model with its reference; return the ids scored (none: ``warn``)."""
    if not reference_dir.is_dir():
        raise InputError(f"reference folder {reference_dir} does not exist; pass a folder of <id>.pdb/.cif files")
    pairs = [(record, reference_file(reference_dir, record.id)) for record in records]
    pairs = [(record, ref) for record, ref in pairs if ref is not None]
    if not pairs:
        warn(
            f"no reference structure in {reference_dir} matches a prediction id "
            f"(looked for <id>{'/'.join(REFERENCE_SUFFIXES)}, e.g. {records[0].id}.pdb); report written without them"
        )
        return set()
    compare_structures = _compare_function()
    for record, ref in pairs:
        record.scores = check_scores(compare_structures(record.structure, ref), f"comparison of {record.id} with {ref}")
    return {record.id for record, _ in pairs}


def _compare_function():
    """:func:`remyfold.metrics.compare_structures`, imported only when a reference is used."""
    try:
        from remyfold.metrics import compare_structures
    except ImportError as err:
        raise InputError(
            f"--reference needs remyfold.metrics.compare_structures, which cannot be imported: {err}"
        ) from None
    return compare_structures


def check_scores(scores: dict, source: str) -> dict:
    """Validate that every known scalar score in ``scores`` is a number or null."""
    if not isinstance(scores, dict):
        raise InputError(f"{source}: expected the JSON object of `remyfold compare --json`")
    for key, _, _ in TABLE_SCORES + DETAIL_SCORES:
        value = scores.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
            raise InputError(f"{source}: score {key!r} is {value!r}, not a number; re-run `remyfold compare --json`")
    return scores


def format_score(scores: dict | None, key: str, fmt: str) -> str:
    """One score as display text; an em dash when absent."""
    value = None if scores is None else scores.get(key)
    if value is None:
        return "—"
    return fmt.format(int(value)) if fmt == "{:d}" else fmt.format(float(value))
