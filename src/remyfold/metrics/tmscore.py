"""TM-score with the superposition search of the ``TMscore`` program (Zhang & Skolnick 2004).

Given ``n`` corresponding Cα pairs (model, reference) and the reference length
``L``, the TM-score is

    TM = max over superpositions of  (1 / L) * sum_i 1 / (1 + (d_i / d0)^2),
    d0 = 1.24 * (L - 15)^(1/3) - 1.8   (0.5 when L <= 15; at least 0.5).

The maximum is searched as the ``TMscore`` program does:

1. seed fragments: every run of ``L_init`` consecutive aligned pairs, for
   ``L_init`` = n, n/2, n/4, ... (integer halving, at most five lengths, down to
   a last length of 4);
2. each seed is superposed (Kabsch); the pairs closer than ``d0_search - 1``
   (``d0_search`` = d0 clipped to [4.5, 8] Å) are selected, the cutoff growing in
   0.5 Å steps until at least 3 pairs are selected;
3. up to 20 times: superpose on the selected pairs, score, and reselect with
   cutoff ``d0_search + 1``; stop when the selection no longer changes.

Every superposition visited is scored; the TM-score is the best one and the
GDT counts (:mod:`remyfold.metrics.gdt`) are the best per cutoff, as in
``TMscore``. The reported RMSD is that of the optimal superposition of all
aligned pairs.

:func:`tm_score_search_plain` is the plain reference: all seeds of one length
are refined together as a batch ``[B, n]`` of 0/1 pair selections (see
:func:`remyfold.metrics.superpose.kabsch`). :func:`tm_score_search` runs the
same search with prefix sums, matrix-product distances and no repeated
trajectory (:mod:`remyfold.metrics.tmscore_fast`), which is what ``compare`` uses.
"""

from __future__ import annotations


import numpy as np

from remyfold.metrics.gdt import GDT_CUTOFFS, gdt_counts, gdt_scores
from remyfold.metrics.superpose import kabsch, superposed_rmsd, transform
from remyfold.metrics.tmscore_fast import tm_score_search_fast
from remyfold.metrics.tmscore_terms import MAX_ITERATIONS, TMResult, seed_lengths, tm_d0

__all__ = ["MAX_ITERATIONS", "TMResult", "seed_lengths", "tm_d0", "tm_score_search", "tm_score_search_plain"]

SEED_BATCH = 256


class _Best:
    """Running maxima over scored superpositions: TM-score (with its transform) and GDT counts."""

    def __init__(self, d0: float, reference_length: int):
        self.d0 = d0
        self.reference_length = reference_length
        self.tm_score = -1.0
        self.rotation = np.eye(3)
        self.translation = np.zeros(3)
        self.counts = np.zeros(len(GDT_CUTOFFS), dtype=np.int64)

    def update(self, distances: np.ndarray, rotation: np.ndarray, translation: np.ndarray) -> None:
        """Score a batch: ``distances [B, n]`` under transforms ``[B, 3, 3]``, ``[B, 3]``."""
        scores = np.sum(1.0 / (1.0 + (distances / self.d0) ** 2), axis=1) / self.reference_length
        row = int(np.argmax(scores))
        if scores[row] > self.tm_score:
            self.tm_score = float(scores[row])
            self.rotation, self.translation = rotation[row], translation[row]
        self.counts = np.maximum(self.counts, gdt_counts(distances).max(axis=0))


def tm_score_search(model_ca: np.ndarray, reference_ca: np.ndarray, reference_length: int) -> TMResult:
    """TM-score, GDT-TS/HA and RMSD of aligned Cα pairs: the fast engine of :func:`tm_score_search_plain`."""
    return tm_score_search_fast(model_ca, reference_ca, reference_length)


def tm_score_search_plain(model_ca: np.ndarray, reference_ca: np.ndarray, reference_length: int) -> TMResult:
    """TM-score, GDT-TS/HA and RMSD of aligned Cα pairs by the ``TMscore`` search (plain reference).

    Args:
        model_ca: ``[n, 3]`` model Cα coordinates of the aligned pairs.
        reference_ca: ``[n, 3]`` reference Cα coordinates, pair ``i`` matching ``model_ca[i]``.
        reference_length: number of reference residues ``L`` (>= n) that normalises the scores.
    """
    model_ca = np.asarray(model_ca, dtype=np.float64)
    reference_ca = np.asarray(reference_ca, dtype=np.float64)
    n = len(model_ca)
    if n == 0 or model_ca.shape != reference_ca.shape:
        raise ValueError(f"need matching non-empty [n, 3] pairs, got {model_ca.shape} and {reference_ca.shape}")
    d0 = tm_d0(reference_length)
    d0_search = min(max(d0, 4.5), 8.0)
    best = _Best(d0, reference_length)
    index = np.arange(n)
    for length in seed_lengths(n):
        starts = np.arange(n - length + 1)
        for first in range(0, len(starts), SEED_BATCH):
            batch = starts[first : first + SEED_BATCH]
            # Seed b selects pairs batch[b] .. batch[b] + length - 1: [B, n] bool.
            seeds = (index[None, :] >= batch[:, None]) & (index[None, :] < batch[:, None] + length)
            _refine(model_ca, reference_ca, seeds, d0_search, best)
    gdt_ts, gdt_ha = gdt_scores(best.counts, reference_length)
    return TMResult(
        tm_score=best.tm_score,
        gdt_ts=gdt_ts,
        gdt_ha=gdt_ha,
        rmsd=superposed_rmsd(model_ca, reference_ca),
        d0=d0,
        rotation=best.rotation,
        translation=best.translation,
    )


def _refine(
    model_ca: np.ndarray,
    reference_ca: np.ndarray,
    selection: np.ndarray,
    d0_search: float,
    best: _Best,
):
    """Steps 2–3 of the search for a batch of seed selections ``[B, n]``, updating ``best``."""
    distances = _superpose_and_measure(model_ca, reference_ca, selection, best)
    selection = _close_pairs(distances, d0_search - 1.0)
    for _ in range(MAX_ITERATIONS):
        distances = _superpose_and_measure(model_ca, reference_ca, selection, best)
        reselected = _close_pairs(distances, d0_search + 1.0)
        # A row whose selection did not change has converged: drop it from the batch.
        moving = np.any(reselected != selection, axis=1)
        if not moving.any():
            return
        selection = reselected[moving]


def _superpose_and_measure(model_ca, reference_ca, selection, best: _Best) -> np.ndarray:
    """Superpose on each row's selected pairs, score it into ``best``; return distances ``[B, n]``."""
    rotation, translation = kabsch(model_ca, reference_ca, selection)
    moved = transform(model_ca, rotation, translation)  # [B, n, 3]
    distances = np.sqrt(np.sum((moved - reference_ca[None]) ** 2, axis=2))
    best.update(distances, rotation, translation)
    return distances


def _close_pairs(distances: np.ndarray, cutoff: float) -> np.ndarray:
    """Pairs with distance < ``cutoff``, the cutoff raised by 0.5 Å steps per row until >= 3 pairs.

    With 3 or fewer pairs in all, a row that selects nothing falls back to every pair.
    """
    selection = distances < cutoff
    n = distances.shape[1]
    few = selection.sum(axis=1) < 3
    if n > 3 and few.any():
        third = np.partition(distances[few], 2, axis=1)[:, 2]
        # Smallest cutoff + 0.5 k that exceeds the third-smallest distance.
        raised = cutoff + 0.5 * (np.floor((third - cutoff) / 0.5) + 1.0)
        selection[few] = distances[few] < raised[:, None]
    empty = ~selection.any(axis=1)
    selection[empty] = True
    return selection
