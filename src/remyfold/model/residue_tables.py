"""Tables derived from the idealised geometry in :mod:`residue_constants`.

For each of the 21 residue types (20 + unknown ``X``, which has no atoms):

* ``default_frames`` ``[21, 8, 4, 4]``: each rigid group's frame relative to its
  parent (backbone, pre-omega, phi, psi, chi1 → backbone, chi2..4 → previous chi)
  at zero torsion (AlphaFold 2 supplement 1.8, Table 2).
* ``atom14_group`` ``[21, 14]``, ``atom14_mask`` ``[21, 14]``, ``atom14_positions``
  ``[21, 14, 3]``: rigid group, existence and literature position of each atom14 slot.
* ``atom37_to_atom14`` ``[21, 37]`` and ``atom37_mask`` ``[21, 37]``: gather indices
  from the dense atom14 layout to atom37, and which atom37 slots exist.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from remyfold.model import residue_constants as rc

NUM_RESTYPES = len(rc.RESTYPES) + 1  # 20 + X
ATOM_ORDER = {name: i for i, name in enumerate(rc.ATOM_TYPES)}


@dataclass(frozen=True)
class ResidueTables:
    default_frames: np.ndarray
    atom14_group: np.ndarray
    atom14_mask: np.ndarray
    atom14_positions: np.ndarray
    atom37_to_atom14: np.ndarray
    atom37_mask: np.ndarray


def _atoms(resname: str) -> list[tuple[str, int, np.ndarray]]:
    """Parse one residue's rigid-group table into (name, group, position) rows."""
    rows = []
    for line in rc.RIGID_GROUP_ATOMS[resname].strip().splitlines():
        name, group, x, y, z = line.split()
        rows.append((name, int(group), np.array([float(x), float(y), float(z)])))
    return rows


def _frame(ex: np.ndarray, ey: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """4×4 frame with x along ``ex``, y in the (ex, ey) plane (Gram–Schmidt), at ``origin``."""
    ex = ex / np.linalg.norm(ex)
    ey = ey - np.dot(ey, ex) * ex
    ey = ey / np.linalg.norm(ey)
    mat = np.eye(4)
    mat[:3, :3] = np.stack([ex, ey, np.cross(ex, ey)], axis=-1)
    mat[:3, 3] = origin
    return mat


def _default_frames(resname: str) -> np.ndarray:
    """The 8 rigid-group frames of one residue type at zero torsion ``[8, 4, 4]``."""
    pos = {name: p for name, _, p in _atoms(resname)}
    frames = np.tile(np.eye(4), (8, 1, 1))
    frames[2] = _frame(pos["N"] - pos["CA"], np.array([1.0, 0.0, 0.0]), pos["N"])  # phi
    frames[3] = _frame(pos["C"] - pos["CA"], pos["CA"] - pos["N"], pos["C"])  # psi
    chis = rc.CHI_ANGLE_ATOMS[resname]
    if chis:
        a, b, c, _ = (pos[n] for n in chis[0].split())
        frames[4] = _frame(c - b, a - b, c)  # chi1 relative to the backbone
    for k in range(1, len(chis)):
        # chi2..chi4 relative to the previous chi frame: their axis starts at its origin.
        axis_end = pos[chis[k].split()[2]]
        frames[4 + k] = _frame(axis_end, np.array([-1.0, 0.0, 0.0]), axis_end)
    return frames


@functools.cache
def residue_tables() -> ResidueTables:
    """Compute (once) and return the derived tables."""
    t = ResidueTables(
        default_frames=np.tile(np.eye(4, dtype=np.float32), (NUM_RESTYPES, 8, 1, 1)),
        atom14_group=np.zeros((NUM_RESTYPES, 14), dtype=np.int64),
        atom14_mask=np.zeros((NUM_RESTYPES, 14), dtype=np.float32),
        atom14_positions=np.zeros((NUM_RESTYPES, 14, 3), dtype=np.float32),
        atom37_to_atom14=np.zeros((NUM_RESTYPES, 37), dtype=np.int64),
        atom37_mask=np.zeros((NUM_RESTYPES, 37), dtype=np.float32),
    )
    for r, letter in enumerate(rc.RESTYPES):
        resname = rc.RESTYPE_1TO3[letter]
        names14 = rc.ATOM14_NAMES[resname].split()
        t.default_frames[r] = _default_frames(resname)
        for name, group, position in _atoms(resname):
            slot = names14.index(name)
            t.atom14_group[r, slot] = group
            t.atom14_mask[r, slot] = 1.0
            t.atom14_positions[r, slot] = position
            t.atom37_to_atom14[r, ATOM_ORDER[name]] = slot
            t.atom37_mask[r, ATOM_ORDER[name]] = 1.0
    return t
