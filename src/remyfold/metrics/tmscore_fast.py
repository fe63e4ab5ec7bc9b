"""The ``TMscore`` superposition search of :mod:`remyfold.metrics.tmscore`, computed fast.

Same search, same visited superpositions, same maxima as the plain
:func:`remyfold.metrics.tmscore.tm_score_search_plain` (an equivalence test
holds them together); three things make it fast:

1. **Seeds by prefix sums.** Every seed is a window of consecutive aligned
   pairs, so its Kabsch sums (Σx, Σy, Σ y xᵀ) are differences of cumulative sums:
   all ``O(n)`` seeds of a length are superposed in ``O(n)``.
2. **Distances by one matrix product.** For a batch of transforms
   ``(R_b, t_b)`` the squared distances are
   ``|R x + t - y|² = |x|² + |y|² + |t|² + 2 (Rᵀt)·x - 2 t·y - 2 R:(y xᵀ)``,
   i.e. per-pair features ``[x, y, vec(y xᵀ), |x|² + |y|², 1]`` (``[n, 17]``) times
   per-transform coefficients (``[17, B]``): one BLAS product instead of
   ``[B, n, 3]`` temporaries. Kabsch sums of arbitrary selections are the first
   15 features summed by a ``[B, n] @ [n, 15]`` product.
3. **No trajectory twice.** The refinement from a selection is deterministic, so
   a row that reaches a selection already reached with at least as many
   iterations left would only revisit scored superpositions; it is dropped.

Coordinates are centred first (on the reference centroid) so that the expanded
distance formula keeps its precision.
"""

from __future__ import annotations

import numpy as np

from remyfold.metrics.gdt import GDT_CUTOFFS, gdt_scores
from remyfold.metrics.superpose import rigid_from_covariance, superposed_rmsd
from remyfold.metrics.tmscore_terms import MAX_ITERATIONS, TMResult, seed_lengths, tm_d0

# Elements of one [B, n] distance block: 2 MB of float64, so that the passes over it stay in cache.
BLOCK_ELEMENTS = 262_144
_SQUARED_GDT = np.square(np.asarray(GDT_CUTOFFS))


class _Search:
    """State of one search: pair features, running maxima and the visited-selection memo."""

    def __init__(self, model_ca: np.ndarray, reference_ca: np.ndarray, reference_length: int):
        centre = reference_ca.mean(axis=0)
        self.x = model_ca - centre  # [n, 3] mobile
        self.y = reference_ca - centre  # [n, 3] target
        n = len(self.x)
        # Per-pair features [x, y, vec(y x^T), |x|^2 + |y|^2, 1]: [n, 17]; (y x^T)_ij = y_i x_j, row-major.
        self.features = np.concatenate(
            [
                self.x,
                self.y,
                (self.y[:, :, None] * self.x[:, None, :]).reshape(n, 9),
                (np.sum(self.x**2, axis=1) + np.sum(self.y**2, axis=1))[:, None],
                np.ones((n, 1)),
            ],
            axis=1,
        )
        self.centre = centre
        self.d0 = tm_d0(reference_length)
        self.reference_length = reference_length
        self.tm_score = -1.0
        self.rotation, self.translation = np.eye(3), np.zeros(3)
        self.counts = np.zeros(len(GDT_CUTOFFS), dtype=np.int64)
        self.memo: dict[bytes, int] = {}

    # --- superposition ---------------------------------------------------------------------------

    def kabsch_from_sums(self, sums: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rotations ``[B, 3, 3]`` and translations ``[B, 3]`` from summed features ``[B, 15]``."""
        counts = counts[:, None]
        mobile_centre, target_centre = sums[:, :3] / counts, sums[:, 3:6] / counts
        # H = sum x y^T - W cx cy^T; the features hold y x^T, so transpose: [B, 3, 3].
        covariance = sums[:, 6:].reshape(-1, 3, 3).transpose(0, 2, 1)
        covariance = covariance - counts[:, :, None] * mobile_centre[:, :, None] * target_centre[:, None, :]
        return rigid_from_covariance(covariance, mobile_centre, target_centre)

    def squared_distances(self, rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
        """``[B, n]`` squared distances ``|R_b x_i + t_b - y_i|²`` by one matrix product.

        May be slightly negative (rounding) where a distance is ~0; every use tolerates that.
        """
        # Coefficients [B, 17] matching the features [x, y, vec(y x^T), |x|^2 + |y|^2, 1].
        coefficients = np.concatenate(
            [
                2.0 * np.einsum("bji,bj->bi", rotation, translation),  # 2 R^T t, dotted with x
                -2.0 * translation,  # dotted with y
                -2.0 * rotation.reshape(-1, 9),  # -2 R : (y x^T)
                np.ones((len(rotation), 1)),  # times |x|^2 + |y|^2
                np.sum(translation**2, axis=1)[:, None],  # |t|^2
            ],
            axis=1,
        )
        return coefficients @ self.features.T  # [B, n]

    # --- scoring ---------------------------------------------------------------------------------

    def score(self, squared: np.ndarray, rotation: np.ndarray, translation: np.ndarray) -> None:
        """Fold a batch of superpositions (``squared [B, n]``) into the running TM-score and GDT maxima."""
        terms = squared * (1.0 / (self.d0 * self.d0))
        terms += 1.0
        np.reciprocal(terms, out=terms)
        # Each term is at most 1; rounding of ~0 squared distances must not lift a sum above n.
        scores = np.minimum(terms.sum(axis=1), squared.shape[1]) / self.reference_length
        row = int(np.argmax(scores))
        if scores[row] > self.tm_score:
            self.tm_score = float(scores[row])
            self.rotation = rotation[row]
            # The transform acts on centred coordinates: x - c -> R (x - c) + t + c.
            self.translation = translation[row] + self.centre - rotation[row] @ self.centre
        self._count_gdt(squared)

    def _count_gdt(self, squared: np.ndarray) -> None:
        """Raise the best GDT counts with a batch ``[B, n]``, largest cutoff first.

        A row's count at any cutoff is at most its count at the largest (8 Å), so at
        each smaller cutoff only rows whose 8 Å count beats that cutoff's best are counted.
        """
        widest = np.count_nonzero(squared <= _SQUARED_GDT[-1], axis=1)
        self.counts[-1] = max(self.counts[-1], int(widest.max()))
        for k in range(len(_SQUARED_GDT) - 2, -1, -1):
            rows = np.flatnonzero(widest > self.counts[k])
            if len(rows):
                counts = np.count_nonzero(squared[rows] <= _SQUARED_GDT[k], axis=1)
                self.counts[k] = max(self.counts[k], int(counts.max()))

    def close_pairs(self, squared: np.ndarray, cutoff: float) -> np.ndarray:
        """:func:`remyfold.metrics.tmscore._close_pairs` on squared distances: ``[B, n]`` bool."""
        selection = squared < cutoff * cutoff
        n = squared.shape[1]
        few = selection.sum(axis=1) < 3
        if n > 3 and few.any():
            third = np.sqrt(np.maximum(np.partition(squared[few], 2, axis=1)[:, 2], 0.0))
            raised = cutoff + 0.5 * (np.floor((third - cutoff) / 0.5) + 1.0)
            selection[few] = squared[few] < (raised * raised)[:, None]
        empty = ~selection.any(axis=1)
        selection[empty] = True
        return selection

    def unvisited(self, selection: np.ndarray, budget: int) -> np.ndarray:
        """Rows of ``selection [B, n]`` not yet reached with ``budget`` or more iterations left."""
        packed = np.packbits(selection, axis=1)
        keep = np.zeros(len(selection), dtype=bool)
        for row, key in enumerate(map(bytes, packed)):
            if self.memo.get(key, -1) < budget:
                self.memo[key] = budget
                keep[row] = True
        return keep


def tm_score_search_fast(model_ca: np.ndarray, reference_ca: np.ndarray, reference_length: int) -> TMResult:
    """TM-score, GDT-TS/HA and RMSD by the ``TMscore`` search; see the module docstring.

    Args:
        model_ca: ``[n, 3]`` model Cα of the aligned pairs.
        reference_ca: ``[n, 3]`` reference Cα, pair ``i`` matching ``model_ca[i]``.
        reference_length: reference length ``L`` (>= n) normalising the scores.
    """
    model_ca = np.asarray(model_ca, dtype=np.float64)
    reference_ca = np.asarray(reference_ca, dtype=np.float64)
    n = len(model_ca)
    if n == 0 or model_ca.shape != reference_ca.shape:
        raise ValueError(f"need matching non-empty [n, 3] pairs, got {model_ca.shape} and {reference_ca.shape}")
    search = _Search(model_ca, reference_ca, reference_length)
    d0_search = min(max(search.d0, 4.5), 8.0)
    # Prefix sums of the features: the sums over window [s, s + length) are cumulative[s + length] - cumulative[s].
    cumulative = np.concatenate([np.zeros((1, 15)), np.cumsum(search.features[:, :15], axis=0)])
    batch = max(1, BLOCK_ELEMENTS // n)
    for length in seed_lengths(n):
        starts = np.arange(n - length + 1)
        for first in range(0, len(starts), batch):
            window = starts[first : first + batch]
            sums = cumulative[window + length] - cumulative[window]
            rotation, translation = search.kabsch_from_sums(sums, np.full(len(window), float(length)))
            squared = search.squared_distances(rotation, translation)
            search.score(squared, rotation, translation)
            _iterate(search, search.close_pairs(squared, d0_search - 1.0), d0_search)
    gdt_ts, gdt_ha = gdt_scores(search.counts, reference_length)
    return TMResult(
        tm_score=search.tm_score,
        gdt_ts=gdt_ts,
        gdt_ha=gdt_ha,
        rmsd=superposed_rmsd(model_ca, reference_ca),
        d0=search.d0,
        rotation=search.rotation,
        translation=search.translation,
    )


def _iterate(search: _Search, selection: np.ndarray, d0_search: float) -> None:
    """Step 3 of the search for a batch of selections ``[B, n]`` (bool), skipping visited trajectories."""
    for iteration in range(MAX_ITERATIONS):
        selection = selection[search.unvisited(selection, MAX_ITERATIONS - iteration)]
        if len(selection) == 0:
            return
        weights = selection.astype(np.float64)
        rotation, translation = search.kabsch_from_sums(weights @ search.features[:, :15], weights.sum(axis=1))
        squared = search.squared_distances(rotation, translation)
        search.score(squared, rotation, translation)
        reselected = search.close_pairs(squared, d0_search + 1.0)
        # A row whose selection did not change has converged: drop it.
        moving = np.any(reselected != selection, axis=1)
        selection = reselected[moving]
        if len(selection) == 0:
            return
