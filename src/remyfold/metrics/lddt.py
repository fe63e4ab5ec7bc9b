"""lDDT, the local distance difference test (Mariani et al., Bioinformatics 2013).

lDDT compares distances, so it needs no superposition. For every pair of
reference atoms ``(a, b)`` in different residues whose reference distance is
below the inclusion radius (15 Å), the pair counts as preserved at threshold
``t`` when the model atoms' distance differs by less than ``t``; thresholds are
0.5, 1, 2 and 4 Å. A pair whose model atom is missing (residue not aligned or
atom absent) counts as not preserved.

* global lDDT = preserved pair-thresholds / (4 × number of pairs);
* per-residue lDDT = the same over the pairs that involve an atom of the residue
  (``NaN`` for a residue with no pair in range).

All-atom lDDT uses every reference heavy atom; Cα lDDT uses only Cα atoms.
Before scoring, side chains with two equivalent atom names (Arg NH1/NH2, Asp
OD1/OD2, Glu OE1/OE2, Leu CD1/CD2, Phe and Tyr CD1/CD2 + CE1/CE2, Val CG1/CG2)
take the model naming, as is or swapped, that scores better
(:func:`resolve_symmetric_atoms`), as OpenStructure's lDDT does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LDDT_THRESHOLDS = (0.5, 1.0, 2.0, 4.0)
INCLUSION_RADIUS = 15.0
# Elements of the row-block x M squared-distance matrix computed at once (bounds memory).
CHUNK_ELEMENTS = 4_000_000
SYMMETRIC_ATOMS = {
    "ARG": (("NH1", "NH2"),),
    "ASP": (("OD1", "OD2"),),
    "GLU": (("OE1", "OE2"),),
    "LEU": (("CD1", "CD2"),),
    "PHE": (("CD1", "CD2"), ("CE1", "CE2")),
    "TYR": (("CD1", "CD2"), ("CE1", "CE2")),
    "VAL": (("CG1", "CG2"),),
}


@dataclass(frozen=True)
class LDDTResult:
    """Global lDDT (0–1) and per-residue lDDT ``[N_res]`` (``NaN`` where a residue has no pair)."""

    score: float
    per_residue: np.ndarray


def lddt(
    reference_xyz: np.ndarray,
    model_xyz: np.ndarray,
    atom_residue: np.ndarray,
    n_residues: int,
    radius: float = INCLUSION_RADIUS,
    thresholds: tuple[float, ...] = LDDT_THRESHOLDS,
) -> LDDTResult:
    """lDDT of a model against a reference, atom by atom.

    Args:
        reference_xyz: ``[M, 3]`` reference atom coordinates.
        model_xyz: ``[M, 3]`` model coordinates of the same atoms, ``NaN`` where missing.
        atom_residue: ``[M]`` int, residue index (0..n_residues-1) of each atom.
        n_residues: number of reference residues ``N_res``.
        radius: inclusion radius (Å) in the reference.
        thresholds: distance-difference thresholds (Å).
    """
    preserved, pairs = _atom_scores(
        reference_xyz,
        model_xyz,
        atom_residue,
        np.arange(len(reference_xyz)),
        radius,
        thresholds,
    )
    residue_preserved = np.bincount(atom_residue, weights=preserved, minlength=n_residues)
    residue_pairs = np.bincount(atom_residue, weights=pairs, minlength=n_residues)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_residue = residue_preserved / residue_pairs
    score = float(preserved.sum() / pairs.sum()) if pairs.sum() > 0 else float("nan")
    return LDDTResult(score=score, per_residue=per_residue)


def _atom_scores(reference_xyz, model_xyz, atom_residue, rows, radius, thresholds) -> tuple[np.ndarray, np.ndarray]:
    """For the atoms ``rows``: ``(preserved [R], pairs [R])``.

    ``pairs`` counts partners in range in another residue; ``preserved`` sums, over
    those partners, the fraction of thresholds met (so it is at most ``pairs``).
    Candidates in range come from squared distances by one matrix product per
    block of rows; the kept pairs' distances are then computed exactly.
    """
    chunk = max(1, CHUNK_ELEMENTS // max(1, len(reference_xyz)))
    squared_norm = np.sum(reference_xyz**2, axis=1)
    preserved = np.zeros(len(rows))
    pairs = np.zeros(len(rows))
    for start in range(0, len(rows), chunk):
        block = rows[start : start + chunk]
        # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b for every (row, atom): [R, M], with a margin for rounding.
        squared = squared_norm[block, None] + squared_norm[None, :] - 2.0 * reference_xyz[block] @ reference_xyz.T
        candidate = (squared < (radius + 1e-3) ** 2) & (atom_residue[block, None] != atom_residue[None, :])
        row, other = np.nonzero(candidate)
        atom = block[row]
        reference_d = np.linalg.norm(reference_xyz[atom] - reference_xyz[other], axis=1)
        model_d = np.linalg.norm(model_xyz[atom] - model_xyz[other], axis=1)  # NaN where an atom is missing
        keep = reference_d < radius
        error = np.abs(model_d - reference_d)[keep]
        met = sum((error < threshold).astype(np.float64) for threshold in thresholds) / len(thresholds)
        preserved[start : start + chunk] = np.bincount(row[keep], weights=met, minlength=len(block))
        pairs[start : start + chunk] = np.bincount(row[keep], minlength=len(block))
    return preserved, pairs


def resolve_symmetric_atoms(
    reference_xyz: np.ndarray,
    model_xyz: np.ndarray,
    atom_residue: np.ndarray,
    atom_names: list[str] | tuple[str, ...],
    residue_names: list[str] | tuple[str, ...],
) -> np.ndarray:
    """Return ``model_xyz [M, 3]`` with equivalent side-chain atoms swapped where that raises lDDT.

    Residues are visited in order; for each one with :data:`SYMMETRIC_ATOMS`
    (all of them present in the model) the lDDT of its own atoms' pairs decides.
    """
    model_xyz = np.array(model_xyz, dtype=np.float64, copy=True)
    for residue, name in enumerate(residue_names):
        if name not in SYMMETRIC_ATOMS:
            continue
        atoms = np.flatnonzero(atom_residue == residue)
        index = {atom_names[atom]: atom for atom in atoms}
        swaps = [(index[a], index[b]) for a, b in SYMMETRIC_ATOMS[name] if a in index and b in index]
        if not swaps or np.isnan(model_xyz[[i for pair in swaps for i in pair]]).any():
            continue
        swapped = model_xyz.copy()
        for a, b in swaps:
            swapped[[a, b]] = model_xyz[[b, a]]
        current = _atom_scores(
            reference_xyz,
            model_xyz,
            atom_residue,
            atoms,
            INCLUSION_RADIUS,
            LDDT_THRESHOLDS,
        )[0]
        alternative = _atom_scores(
            reference_xyz,
            swapped,
            atom_residue,
            atoms,
            INCLUSION_RADIUS,
            LDDT_THRESHOLDS,
        )[0]
        if alternative.sum() > current.sum():
            model_xyz = swapped
    return model_xyz
