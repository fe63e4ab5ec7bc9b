"""Binding pockets of a receptor, found with pyKVFinder (grid-based cavity detection).

pyKVFinder (Guerra et al., BMC Bioinformatics 2021) fills the protein's
surroundings with a 0.6 Å grid, marks points that a 1.4 Å probe reaches but a
4 Å probe does not (cavities), and groups them. It was chosen over fpocket-rs
and pocketeer by accuracy on the redocking complexes: see
``bench/results/pockets_compare.md``. pyKVFinder gives no druggability score,
so pockets are ranked by volume (largest first) and ``score`` is the volume.

Each pocket carries its centre (mean grid point), volume (Å³), lining
residues (from pyKVFinder), and for remyfold models the mean Cα pLDDT of the
lining residues, flagged as low confidence below 70.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass

import numpy as np

from remyfold.dock.extra import require
from remyfold.dock.receptor import Receptor, ResidueKey

LOW_PLDDT = 70.0


@dataclass(frozen=True)
class Pocket:
    """One candidate pocket: ``points`` ``[M, 3]`` are its cavity grid points (Å)."""

    rank: int
    score: float
    volume: float
    centre: tuple[float, float, float]
    residues: tuple[ResidueKey, ...]
    mean_plddt: float | None
    points: np.ndarray

    @property
    def low_confidence(self) -> bool:
        return self.mean_plddt is not None and self.mean_plddt < LOW_PLDDT

    def as_dict(self, receptor: Receptor) -> dict:
        """JSON-ready description (residues as ``chain:RESnum``)."""
        return {
            "rank": self.rank,
            "score": round(self.score, 2),
            "centre": [round(v, 3) for v in self.centre],
            "volume_A3": round(self.volume, 1),
            "residues": [f"{c}:{receptor.residue_names.get((c, n, i), 'UNK')}{n}{i}" for c, n, i in self.residues],
            "mean_plddt": None if self.mean_plddt is None else round(self.mean_plddt, 1),
            "low_confidence": self.low_confidence,
        }


STEP = 0.6  # grid spacing (Å), pyKVFinder's default


def find_pockets(receptor: Receptor) -> list[Pocket]:
    """Detect, rank (largest volume first) and describe the receptor's pockets."""
    names, volume, residues, cavities, vertices = _detect(receptor)
    # Grid axes: the vertices are the origin and the ends of the X, Y and Z edges of the grid box.
    origin = vertices[0]
    axes = np.stack([(vertices[k] - origin) / np.linalg.norm(vertices[k] - origin) for k in (1, 2, 3)])  # [3, 3]
    pockets = []
    for rank, name in enumerate(sorted(names, key=lambda name: -volume[name]), start=1):
        idx = np.argwhere(cavities == names.index(name) + 2)  # cavity i (0-based) is tagged i + 2
        points = origin + (idx * STEP) @ axes  # grid index [M, 3] -> Å
        lining = tuple(dict.fromkeys(_key(r) for r in residues.get(name, [])))
        pockets.append(Pocket(rank, float(volume[name]), float(volume[name]),
                              tuple(float(v) for v in points.mean(axis=0)), lining,
                              receptor.mean_plddt(list(lining)), points))
    return pockets


def _detect(receptor: Receptor):
    """pyKVFinder's public steps: atoms, grid vertices ``[4, 3]``, cavities, volumes, lining residues."""
    kv = require("pyKVFinder")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # pyKVFinder warns per unknown atom (e.g. OXT) on the root logger
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".pdb") as handle:
            handle.write(receptor.pdb)
            handle.flush()
            atomic = kv.read_pdb(handle.name)
        vertices = np.asarray(kv.get_vertices(atomic, step=STEP), dtype=float)
        ncav, cavities = kv.detect(atomic, vertices, step=STEP)
        if ncav == 0:
            return [], {}, {}, cavities, vertices
        _surface, volume, _area = kv.spatial(cavities, step=STEP)
        residues = kv.constitutional(cavities, atomic, vertices, step=STEP)
    finally:
        root.setLevel(level)
    return list(volume), volume, residues, cavities, vertices


def _key(entry) -> ResidueKey:
    """pyKVFinder residue ``[number, chain, name]`` -> (chain, number, insertion code)."""
    number, chain = str(entry[0]), str(entry[1])
    digits = number.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return (chain, int(digits), number[len(digits):])
