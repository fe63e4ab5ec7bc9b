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
(:func:`resolve_symmetric_atoms`), as OpenStructure's lDDT does; each residue
decides against the rest of the model as given.

Pairs in range are found once by a cell list (:func:`neighbour_pairs`: atoms
binned into cubes of the inclusion radius, each cube measured against itself
and its 13 forward neighbours), so the cost grows with the number of pairs in
range, not with the square of the atom count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LDDT_THRESHOLDS = (0.5, 1.0, 2.0, 4.0)
INCLUSION_RADIUS = 15.0
SYMMETRIC_ATOMS = {
    "ARG": (("NH1", "NH2"),),
    "ASP": (("OD1", "OD2"),),
    "GLU": (("OE1", "OE2"),),
    "LEU": (("CD1", "CD2"),),
    "PHE": (("CD1", "CD2"), ("CE1", "CE2")),
    "TYR": (("CD1", "CD2"), ("CE1", "CE2")),
    "VAL": (("CG1", "CG2"),),
}
# The 13 forward neighbour cells of a cell (half of the 26, so each cell pair is measured once).
_FORWARD = [
    (dx, dy, dz)
    for dx in (-1, 0, 1)
    for dy in (-1, 0, 1)
    for dz in (-1, 0, 1)
    if (dx, dy, dz) > (0, 0, 0)
]


@dataclass(frozen=True)
class LDDTResult:
    """Global lDDT (0–1) and per-residue lDDT ``[N_res]`` (``NaN`` where a residue has no pair)."""

    score: float
    per_residue: np.ndarray


@dataclass(frozen=True)
class Pairs:
    """Reference atom pairs ``(first[P], second[P])`` in different residues closer than the radius,
    each pair once, with their reference distances ``distance[P]``."""

    first: np.ndarray
    second: np.ndarray
    distance: np.ndarray


def neighbour_pairs(reference_xyz: np.ndarray, atom_residue: np.ndarray, radius: float = INCLUSION_RADIUS) -> Pairs:
    """Atom pairs of different residues closer than ``radius`` in ``reference_xyz [M, 3]`` (cell list)."""
    reference_xyz = np.asarray(reference_xyz, dtype=np.float64)
    cells = np.floor((reference_xyz - reference_xyz.min(axis=0, initial=0.0)) / radius).astype(np.int64)
    order = np.lexsort(cells.T[::-1])  # atoms sorted by cell (x, then y, then z)
    keys, starts = np.unique(cells[order], axis=0, return_index=True)
    ends = np.append(starts[1:], len(order))
    lookup = {tuple(key): k for k, key in enumerate(keys.tolist())}
    first, second = [], []
    for k, key in enumerate(keys.tolist()):
        own = order[starts[k] : ends[k]]
        others = [order[starts[j] : ends[j]] for j in _forward_cells(key, lookup)]
        candidates = np.concatenate([own, *others])
        # [own, candidates] squared distances; within the own cell keep each pair once (column > row).
        delta = reference_xyz[own][:, None, :] - reference_xyz[candidates][None, :, :]
        close = np.einsum("ijk,ijk->ij", delta, delta) < radius * radius
        close[:, : len(own)] &= np.triu(np.ones((len(own), len(own)), dtype=bool), k=1)
        row, column = np.nonzero(close)
        first.append(own[row])
        second.append(candidates[column])
    first = np.concatenate(first) if first else np.zeros(0, dtype=np.int64)
    second = np.concatenate(second) if second else np.zeros(0, dtype=np.int64)
    keep = atom_residue[first] != atom_residue[second]
    first, second = first[keep], second[keep]
    distance = np.linalg.norm(reference_xyz[first] - reference_xyz[second], axis=1)
    return Pairs(first, second, distance)


def _forward_cells(key: list[int], lookup: dict) -> list[int]:
    """Indices of the occupied forward neighbours of cell ``key``."""
    x, y, z = key
    return [lookup[cell] for cell in ((x + dx, y + dy, z + dz) for dx, dy, dz in _FORWARD) if cell in lookup]


def lddt(
    reference_xyz: np.ndarray,
    model_xyz: np.ndarray,
    atom_residue: np.ndarray,
    n_residues: int,
    radius: float = INCLUSION_RADIUS,
    thresholds: tuple[float, ...] = LDDT_THRESHOLDS,
    pairs: Pairs | None = None,
) -> LDDTResult:
    """lDDT of a model against a reference, atom by atom.

    Args:
        reference_xyz: ``[M, 3]`` reference atom coordinates.
        model_xyz: ``[M, 3]`` model coordinates of the same atoms, ``NaN`` where missing.
        atom_residue: ``[M]`` int, residue index (0..n_residues-1) of each atom.
        n_residues: number of reference residues ``N_res``.
        radius: inclusion radius (Å) in the reference.
        thresholds: distance-difference thresholds (Å).
        pairs: the :func:`neighbour_pairs` of the reference, if already computed (same ``radius``).
    """
    atom_residue = np.asarray(atom_residue)
    if pairs is None:
        pairs = neighbour_pairs(reference_xyz, atom_residue, radius)
    met = _met(pairs, model_xyz, pairs.first, pairs.second, thresholds)
    m = len(reference_xyz)
    # Every pair counts for both of its atoms.
    preserved = np.bincount(pairs.first, weights=met, minlength=m) + np.bincount(pairs.second, weights=met, minlength=m)
    counted = np.bincount(pairs.first, minlength=m) + np.bincount(pairs.second, minlength=m)
    residue_preserved = np.bincount(atom_residue, weights=preserved, minlength=n_residues)
    residue_pairs = np.bincount(atom_residue, weights=counted, minlength=n_residues)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_residue = residue_preserved / residue_pairs
    score = float(met.sum() / len(met)) if len(met) else float("nan")
    return LDDTResult(score=score, per_residue=per_residue)


def _met(pairs: Pairs, model_xyz, first, second, thresholds) -> np.ndarray:
    """``[P]`` fraction of ``thresholds`` met by each pair, model atoms ``first``/``second`` (0 where missing)."""
    model_distance = np.linalg.norm(model_xyz[first] - model_xyz[second], axis=1)  # NaN where missing
    error = np.abs(model_distance - pairs.distance)
    return sum((error < threshold).astype(np.float64) for threshold in thresholds) / len(thresholds)


def resolve_symmetric_atoms(
    reference_xyz: np.ndarray,
    model_xyz: np.ndarray,
    atom_residue: np.ndarray,
    atom_names: list[str] | tuple[str, ...],
    residue_names: list[str] | tuple[str, ...],
    pairs: Pairs | None = None,
) -> np.ndarray:
    """Return ``model_xyz [M, 3]`` with equivalent side-chain atoms swapped where that raises lDDT.

    For each residue with :data:`SYMMETRIC_ATOMS` (all of them present in the
    model), the lDDT of its atoms' pairs with the as-given model decides.
    """
    model_xyz = np.array(model_xyz, dtype=np.float64, copy=True)
    atom_residue = np.asarray(atom_residue)
    swap = _swap_partners(atom_residue, atom_names, residue_names, model_xyz)
    if not np.any(swap != np.arange(len(swap))):
        return model_xyz
    if pairs is None:
        pairs = neighbour_pairs(reference_xyz, atom_residue)
    n_residues = len(residue_names)
    as_is = _met(pairs, model_xyz, pairs.first, pairs.second, LDDT_THRESHOLDS)
    # Swapping the first atom's residue, or the second's: [P] each.
    first_swapped = _met(pairs, model_xyz, swap[pairs.first], pairs.second, LDDT_THRESHOLDS)
    second_swapped = _met(pairs, model_xyz, pairs.first, swap[pairs.second], LDDT_THRESHOLDS)
    first_residue, second_residue = atom_residue[pairs.first], atom_residue[pairs.second]
    current = np.bincount(first_residue, weights=as_is, minlength=n_residues) + np.bincount(
        second_residue, weights=as_is, minlength=n_residues
    )
    alternative = np.bincount(first_residue, weights=first_swapped, minlength=n_residues) + np.bincount(
        second_residue, weights=second_swapped, minlength=n_residues
    )
    better = alternative > current + 1e-9
    moved = better[atom_residue] & (swap != np.arange(len(swap)))
    model_xyz[moved] = model_xyz[swap[moved]].copy()
    return model_xyz


def _swap_partners(atom_residue, atom_names, residue_names, model_xyz) -> np.ndarray:
    """``[M]`` int: each atom's symmetric partner in its residue (itself where none or incomplete)."""
    swap = np.arange(len(atom_names))
    bounds = np.searchsorted(atom_residue, np.arange(len(residue_names) + 1))
    for residue, name in enumerate(residue_names):
        if name not in SYMMETRIC_ATOMS:
            continue
        atoms = range(bounds[residue], bounds[residue + 1])
        index = {atom_names[atom]: atom for atom in atoms}
        found = [(index[a], index[b]) for a, b in SYMMETRIC_ATOMS[name] if a in index and b in index]
        if not found or np.isnan(model_xyz[[i for pair in found for i in pair]]).any():
            continue
        for a, b in found:
            swap[a], swap[b] = b, a
    return swap
