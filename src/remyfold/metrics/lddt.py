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

Pairs in range are found by a cell list (:func:`pair_blocks`: atoms binned
into cubes of the inclusion radius, each cube measured against itself and its
13 forward neighbours) and scored block by block, so time grows with the number
of pairs in range, not with the square of the atom count, and memory stays
bounded. :func:`symmetric_lddt` resolves the symmetric names and scores the
result in one such search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LDDT_THRESHOLDS = (0.5, 1.0, 2.0, 4.0)
INCLUSION_RADIUS = 15.0
# Candidate pairs gathered (from several cells) into one block before scoring: ~10 MB of arrays.
BLOCK_PAIRS = 262_144
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
    """A block of reference atom pairs ``(first[P], second[P])`` in different residues closer than
    the radius, with their reference distances ``distance[P]``; over all blocks each pair comes once."""

    first: np.ndarray
    second: np.ndarray
    distance: np.ndarray


def pair_blocks(reference_xyz: np.ndarray, atom_residue: np.ndarray, radius: float = INCLUSION_RADIUS):
    """Yield :class:`Pairs` blocks covering every atom pair of different residues closer than ``radius``.

    Cell list: atoms are binned into cubes of side ``radius``; each occupied cube is
    measured against itself (each pair once) and its 13 forward neighbours. Consecutive cubes'
    pairs are gathered into blocks of about :data:`BLOCK_PAIRS`, so memory stays bounded.
    """
    reference_xyz = np.asarray(reference_xyz, dtype=np.float64)
    atom_residue = np.asarray(atom_residue)
    if len(reference_xyz) == 0:
        return
    cells = np.floor((reference_xyz - reference_xyz.min(axis=0)) / radius).astype(np.int64)
    order = np.lexsort(cells.T[::-1])  # atoms sorted by cell (x, then y, then z)
    keys, starts = np.unique(cells[order], axis=0, return_index=True)
    ends = np.append(starts[1:], len(order))
    lookup = {tuple(key): k for k, key in enumerate(keys.tolist())}
    squared_norm = np.sum(reference_xyz**2, axis=1)
    pending: list[tuple[np.ndarray, np.ndarray]] = []  # cells' candidate pairs, merged into blocks
    size = 0
    for k, key in enumerate(keys.tolist()):
        own = order[starts[k] : ends[k]]
        candidates = np.concatenate([own] + [order[starts[j] : ends[j]] for j in _forward_cells(key, lookup)])
        # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b for [own, candidates], with a margin for rounding;
        # the kept pairs' distances are then computed exactly.
        squared = squared_norm[own, None] + squared_norm[None, candidates] - 2.0 * reference_xyz[own] @ reference_xyz[candidates].T
        close = squared < (radius + 1e-3) ** 2
        close[:, : len(own)] &= np.triu(np.ones((len(own), len(own)), dtype=bool), k=1)  # own cell: each pair once
        row, column = np.nonzero(close)
        pending.append((own[row], candidates[column]))
        size += len(row)
        if size >= BLOCK_PAIRS or k == len(keys) - 1:
            yield _block(reference_xyz, atom_residue, radius, pending)
            pending, size = [], 0


def _block(reference_xyz, atom_residue, radius, pending) -> Pairs:
    """One :class:`Pairs` block of the candidate pairs of several cells: other residue, in range."""
    first = np.concatenate([pair[0] for pair in pending])
    second = np.concatenate([pair[1] for pair in pending])
    other_residue = atom_residue[first] != atom_residue[second]
    first, second = first[other_residue], second[other_residue]
    distance = _distances(reference_xyz, first, second)
    keep = distance < radius
    return Pairs(first[keep].astype(np.int32), second[keep].astype(np.int32), distance[keep])


def _distances(xyz: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``[P]`` distances between atoms ``first`` and ``second`` (``NaN`` where a position is ``NaN``)."""
    delta = xyz[first] - xyz[second]
    return np.sqrt(np.einsum("pk,pk->p", delta, delta))


def _forward_cells(key: list[int], lookup: dict) -> list[int]:
    """Indices of the occupied forward neighbours of cell ``key``."""
    x, y, z = key
    return [lookup[cell] for cell in ((x + dx, y + dy, z + dz) for dx, dy, dz in _FORWARD) if cell in lookup]


class _Bincount:
    """``np.bincount`` summed over many small blocks, buffered so that each flush costs one
    pass over the ``length`` bins (not one per block)."""

    FLUSH = 4_000_000

    def __init__(self, length: int):
        self.length = length
        self.total = np.zeros(length)
        self._indices: list[np.ndarray] = []
        self._weights: list[np.ndarray] = []
        self._size = 0

    def add(self, indices: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Add ``weights`` (or 1 each, when ``None``; then every ``add`` must omit them) at ``indices``."""
        self._indices.append(indices)
        if weights is not None:
            self._weights.append(weights)
        self._size += len(indices)
        if self._size >= self.FLUSH:
            self.flush()

    def flush(self) -> np.ndarray:
        if self._indices:
            indices = np.concatenate(self._indices)
            weights = np.concatenate(self._weights) if self._weights else None
            self.total += np.bincount(indices, weights=weights, minlength=self.length)
            self._indices, self._weights, self._size = [], [], 0
        return self.total


class _Tally:
    """lDDT sums over pair blocks: per-atom preserved fractions and pair counts, and the totals."""

    def __init__(self, n_atoms: int):
        self.preserved, self.counted = _Bincount(n_atoms), _Bincount(n_atoms)
        self.met, self.pairs = 0.0, 0

    def add(self, first: np.ndarray, second: np.ndarray, met: np.ndarray) -> None:
        # Every pair counts for both of its atoms.
        for atoms in (first, second):
            self.preserved.add(atoms, met)
            self.counted.add(atoms)
        self.met, self.pairs = self.met + float(met.sum()), self.pairs + len(met)

    def result(self, atom_residue: np.ndarray, n_residues: int) -> LDDTResult:
        residue_preserved = np.bincount(atom_residue, weights=self.preserved.flush(), minlength=n_residues)
        residue_pairs = np.bincount(atom_residue, weights=self.counted.flush(), minlength=n_residues)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_residue = residue_preserved / residue_pairs
        score = self.met / self.pairs if self.pairs else float("nan")
        return LDDTResult(score=score, per_residue=per_residue)


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
    atom_residue = np.asarray(atom_residue)
    tally = _Tally(len(reference_xyz))
    for block in pair_blocks(reference_xyz, atom_residue, radius):
        tally.add(block.first, block.second, _met(block, model_xyz, block.first, block.second, thresholds))
    return tally.result(atom_residue, n_residues)


def _met(pairs: Pairs, model_xyz, first, second, thresholds) -> np.ndarray:
    """``[P]`` fraction of ``thresholds`` met by each pair, model atoms ``first``/``second`` (0 where missing)."""
    error = np.abs(_distances(model_xyz, first, second) - pairs.distance)  # NaN where a model atom is missing
    # Thresholds met = thresholds strictly above the error (NaN sorts last: none met).
    met = len(thresholds) - np.searchsorted(np.asarray(thresholds), error, side="right")
    return met / len(thresholds)


def resolve_symmetric_atoms(
    reference_xyz: np.ndarray,
    model_xyz: np.ndarray,
    atom_residue: np.ndarray,
    atom_names: list[str] | tuple[str, ...],
    residue_names: list[str] | tuple[str, ...],
) -> np.ndarray:
    """Return ``model_xyz [M, 3]`` with equivalent side-chain atoms swapped where that raises lDDT.

    For each residue with :data:`SYMMETRIC_ATOMS` (all of them present in the
    model), the lDDT of its atoms' pairs with the as-given model decides; only
    pairs with a swappable atom can differ, so only those are scored.
    """
    return symmetric_lddt(reference_xyz, model_xyz, atom_residue, atom_names, residue_names)[0]


def symmetric_lddt(
    reference_xyz: np.ndarray,
    model_xyz: np.ndarray,
    atom_residue: np.ndarray,
    atom_names: list[str] | tuple[str, ...],
    residue_names: list[str] | tuple[str, ...],
) -> tuple[np.ndarray, LDDTResult]:
    """:func:`resolve_symmetric_atoms` and the all-atom :func:`lddt` of the resolved model, in one
    search of the reference's pairs: pairs without a swappable atom are scored at once (no decision
    moves them); pairs with one are kept, decide the swaps, and are scored after them."""
    model_xyz = np.array(model_xyz, dtype=np.float64, copy=True)
    atom_residue = np.asarray(atom_residue)
    swap = _swap_partners(atom_residue, atom_names, residue_names, model_xyz)
    swappable = swap != np.arange(len(swap))
    n_residues = len(residue_names)
    tally = _Tally(len(reference_xyz))
    current, alternative = _Bincount(n_residues), _Bincount(n_residues)
    kept = []
    for block in pair_blocks(reference_xyz, atom_residue):
        mask = swappable[block.first] | swappable[block.second]
        fixed = Pairs(block.first[~mask], block.second[~mask], block.distance[~mask])
        tally.add(fixed.first, fixed.second, _met(fixed, model_xyz, fixed.first, fixed.second, LDDT_THRESHOLDS))
        block = Pairs(block.first[mask], block.second[mask], block.distance[mask])
        as_is = _met(block, model_xyz, block.first, block.second, LDDT_THRESHOLDS)
        kept.append((block, as_is))
        # Swapping the first atom's residue, or the second's: [P] each.
        first_swapped = _met(block, model_xyz, swap[block.first], block.second, LDDT_THRESHOLDS)
        second_swapped = _met(block, model_xyz, block.first, swap[block.second], LDDT_THRESHOLDS)
        first_residue, second_residue = atom_residue[block.first], atom_residue[block.second]
        current.add(first_residue, as_is)
        current.add(second_residue, as_is)
        alternative.add(first_residue, first_swapped)
        alternative.add(second_residue, second_swapped)
    better = alternative.flush() > current.flush() + 1e-9
    moved = better[atom_residue] & swappable
    model_xyz[moved] = model_xyz[swap[moved]].copy()
    for block, met in kept:
        # Only pairs with a moved atom score differently now.
        changed = moved[block.first] | moved[block.second]
        if changed.any():
            met = met.copy()
            rescored = Pairs(block.first[changed], block.second[changed], block.distance[changed])
            met[changed] = _met(rescored, model_xyz, rescored.first, rescored.second, LDDT_THRESHOLDS)
        tally.add(block.first, block.second, met)
    return model_xyz, tally.result(atom_residue, n_residues)


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
