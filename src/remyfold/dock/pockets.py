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


def find_pockets(receptor: Receptor) -> list[Pocket]:
    """Detect, rank (largest volume first) and describe the receptor's pockets."""
    kv = require("pyKVFinder")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # pyKVFinder warns per unknown atom (e.g. OXT) on the root logger
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".pdb") as handle:
            handle.write(receptor.pdb)
            handle.flush()
            result = kv.run_workflow(handle.name)
    finally:
        root.setLevel(level)
    if result is None:
        return []
    names = list(result.volume)  # cavity i (0-based) is tagged i + 2 in the grid
    origin = np.asarray(result._vertices[0], dtype=float)
    order = sorted(names, key=lambda name: -result.volume[name])
    pockets = []
    for rank, name in enumerate(order, start=1):
        idx = np.argwhere(result.cavities == names.index(name) + 2)
        points = origin + idx * float(result._step)  # grid index [M, 3] -> Å
        residues = tuple(dict.fromkeys(_key(r) for r in result.residues.get(name, [])))
        pockets.append(Pocket(rank, float(result.volume[name]), float(result.volume[name]),
                              tuple(float(v) for v in points.mean(axis=0)), residues,
                              receptor.mean_plddt(list(residues)), points))
    return pockets


def _key(entry) -> ResidueKey:
    """pyKVFinder residue ``[number, chain, name]`` -> (chain, number, insertion code)."""
    number, chain = str(entry[0]), str(entry[1])
    digits = number.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return (chain, int(digits), number[len(digits):])
