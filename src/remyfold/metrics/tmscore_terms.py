"""The terms both TM-score searches share (:mod:`remyfold.metrics.tmscore`, the plain one, and
:mod:`remyfold.metrics.tmscore_fast`): the result, the scale ``d0`` and the seed lengths of the
``TMscore`` program's search (Zhang & Skolnick 2004)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_ITERATIONS = 20
MAX_SEED_LENGTHS = 6
MIN_SEED_LENGTH = 4


@dataclass(frozen=True)
class TMResult:
    """Scores of one superposition search.

    Attributes:
        tm_score: TM-score normalised by the reference length (0–1).
        gdt_ts: GDT-TS as a fraction (0–1).
        gdt_ha: GDT-HA as a fraction (0–1).
        rmsd: Cα RMSD (Å) after optimal superposition of all aligned pairs.
        d0: the TM-score distance scale (Å).
        rotation: ``[3, 3]`` rotation of the best TM-score superposition (model -> reference).
        translation: ``[3]`` its translation; ``model @ rotation.T + translation``.
    """

    tm_score: float
    gdt_ts: float
    gdt_ha: float
    rmsd: float
    d0: float
    rotation: np.ndarray
    translation: np.ndarray


def tm_d0(reference_length: int) -> float:
    """The TM-score scale ``d0`` (Å) for a reference of ``reference_length`` residues."""
    if reference_length <= 15:
        return 0.5
    return max(0.5, 1.24 * (reference_length - 15) ** (1.0 / 3.0) - 1.8)


def seed_lengths(n_aligned: int) -> list[int]:
    """Seed fragment lengths: n, n/2, n/4, ... (integer halving) ending at 4 (or n if n < 4)."""
    shortest = min(MIN_SEED_LENGTH, n_aligned)
    lengths = []
    for i in range(MAX_SEED_LENGTHS - 1):
        length = n_aligned // 2**i
        if length <= shortest:
            lengths.append(shortest)
            return lengths
        lengths.append(length)
    lengths.append(shortest)
    return lengths
