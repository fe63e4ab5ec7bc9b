"""Binding pockets of a receptor, found with pyKVFinder and ranked by a druggability-style site score.

pyKVFinder (Guerra et al., BMC Bioinformatics 2021) fills the protein's
surroundings with a 0.6 Å grid, marks points that a 1.4 Å probe reaches but a
4 Å probe does not (cavities), and groups them. It was chosen over fpocket-rs
and pocketeer by accuracy on the redocking complexes: see
``bench/results/pockets_compare.md``.

Ranking (``score``, highest first) follows the form of SiteMap's SiteScore
(Halgren, J. Chem. Inf. Model. 49:377-389, 2009: size, enclosure and
hydrophilicity of a site, weighted 0.0733·√n + 0.6688·e − 0.20·p), with each
term computed from pyKVFinder's own characterisation of the cavity:

- ``n``: the cavity volume in Å³ (pyKVFinder ``spatial``), capped at
  :data:`SIZE_CAP` (a site larger than a drug's needs gains nothing more);
- ``e`` (enclosure, 0-1): 1 − the cavity's opening area over its surface area
  (pyKVFinder ``depth`` + ``openings``); a cavity with no opening to the bulk
  solvent is fully buried (1);
- ``p`` (hydrophilicity, 0-1): the mean Eisenberg-Weiss hydropathy of the
  cavity's surface points (pyKVFinder ``hydropathy``, whose table runs from
  hydrophobic, Ile −1.42, to hydrophilic, Arg 2.6), clipped to [0, 1] as
  SiteScore caps its term.

The ranking was chosen over pyKVFinder's volume order by
``bench/dock/pocket_ranking.py`` (results in ``bench/results/pocket_ranking.md``).
Each pocket also carries its centre (mean grid point), volume, mean and
maximum depth (Å), hydropathy, lining residues, and for remyfold models the
mean Cα pLDDT of the lining residues, flagged as low confidence below 70.
"""

from __future__ import annotations

import logging
import math
import tempfile
from dataclasses import dataclass

import numpy as np

from remyfold.dock.extra import require
from remyfold.dock.receptor import Receptor, ResidueKey

LOW_PLDDT = 70.0
STEP = 0.6  # grid spacing (Å), pyKVFinder's default
SIZE_CAP = 100.0  # Å³: SiteScore caps its site-point count at 100
RANKINGS = ("druggability", "volume")


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
    depth_mean: float = 0.0
    depth_max: float = 0.0
    enclosure: float = 0.0
    hydropathy: float = 0.0

    @property
    def low_confidence(self) -> bool:
        return self.mean_plddt is not None and self.mean_plddt < LOW_PLDDT

    def as_dict(self, receptor: Receptor) -> dict:
        """JSON-ready description (residues as ``chain:RESnum``)."""
        return {
            "rank": self.rank,
            "score": round(self.score, 3),
            "centre": [round(v, 3) for v in self.centre],
            "volume_A3": round(self.volume, 1),
            "depth_mean_A": round(self.depth_mean, 2),
            "depth_max_A": round(self.depth_max, 2),
            "enclosure": round(self.enclosure, 3),
            "hydropathy": round(self.hydropathy, 2),
            "residues": [f"{c}:{receptor.residue_names.get((c, n, i), 'UNK')}{n}{i}" for c, n, i in self.residues],
            "mean_plddt": None if self.mean_plddt is None else round(self.mean_plddt, 1),
            "low_confidence": self.low_confidence,
        }


def site_score(volume: float, enclosure: float, hydropathy: float, size_cap: float = SIZE_CAP) -> float:
    """SiteScore-form druggability of a cavity (see the module docstring): higher is more drug-like."""
    hydrophilicity = min(max(hydropathy, 0.0), 1.0)  # pyKVFinder's scale: positive = hydrophilic
    return 0.0733 * math.sqrt(min(volume, size_cap)) + 0.6688 * enclosure - 0.20 * hydrophilicity


def find_pockets(receptor: Receptor, ranking: str = "druggability") -> list[Pocket]:
    """Detect, describe and rank the receptor's pockets (``ranking``: one of :data:`RANKINGS`)."""
    if ranking not in RANKINGS:
        raise ValueError(f"ranking {ranking!r}: choose one of {', '.join(RANKINGS)}")
    found = _detect(receptor)
    if not found:
        return []
    names, cavities, vertices, traits, residues = found
    # Grid axes: the vertices are the origin and the ends of the X, Y and Z edges of the grid box.
    origin = vertices[0]
    axes = np.stack([(vertices[k] - origin) / np.linalg.norm(vertices[k] - origin) for k in (1, 2, 3)])  # [3, 3]
    unranked = []
    for index, name in enumerate(names):
        idx = np.argwhere(cavities == index + 2)  # cavity i (0-based) is tagged i + 2
        points = origin + (idx * STEP) @ axes  # grid index [M, 3] -> Å
        lining = tuple(dict.fromkeys(_key(r) for r in residues.get(name, [])))
        t = traits[name]
        score = t["volume"] if ranking == "volume" else site_score(t["volume"], t["enclosure"], t["hydropathy"])
        unranked.append(Pocket(0, score, t["volume"], tuple(float(v) for v in points.mean(axis=0)), lining,
                               receptor.mean_plddt(list(lining)), points, t["depth_mean"], t["depth_max"],
                               t["enclosure"], t["hydropathy"]))
    ordered = sorted(unranked, key=lambda p: (-p.score, -p.volume))
    return [_with_rank(p, rank) for rank, p in enumerate(ordered, start=1)]


def _with_rank(pocket: Pocket, rank: int) -> Pocket:
    from dataclasses import replace

    return replace(pocket, rank=rank)


def _detect(receptor: Receptor):
    """pyKVFinder's public steps: cavities, then each one's volume, depth, openings, hydropathy, lining.

    Returns ``None`` when there is no cavity, else the cavity names, the cavity grid, the grid vertices
    ``[4, 3]``, per-cavity traits and lining residues.
    """
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
            return None
        surface, volume, area = kv.spatial(cavities, step=STEP)
        depths, max_depth, avg_depth = kv.depth(cavities, step=STEP)
        _n, _grid, opening_areas = kv.openings(cavities, depths, step=STEP)
        _scales, hydropathy = kv.hydropathy(surface, atomic, vertices, step=STEP)
        residues = kv.constitutional(cavities, atomic, vertices, step=STEP)
    finally:
        root.setLevel(level)
    names = list(volume)  # KAA, KAB, ...: pyKVFinder names cavity i (tag i + 2) in this order
    traits = {name: {"volume": float(volume[name]), "depth_mean": float(avg_depth.get(name, 0.0)),
                     "depth_max": float(max_depth.get(name, 0.0)), "hydropathy": float(hydropathy.get(name, 0.0)),
                     "enclosure": _enclosure(area[name], opening_areas.get(name, {}))} for name in names}
    return names, cavities, vertices, traits, residues


def _enclosure(area: float, openings: dict[str, float]) -> float:
    """1 − (opening area / cavity surface area), in [0, 1]; no opening: 1 (fully buried)."""
    if area <= 0:
        return 0.0
    return float(min(max(1.0 - sum(openings.values()) / area, 0.0), 1.0))


def _key(entry) -> ResidueKey:
    """pyKVFinder residue ``[number, chain, name]`` -> (chain, number, insertion code)."""
    number, chain = str(entry[0]), str(entry[1])
    digits = number.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return (chain, int(digits), number[len(digits):])
