"""GDT-TS and GDT-HA (global distance test, Zemla et al. 1999) as the TMscore program reports them.

GDT counts the residues within a distance cutoff of their reference position
after superposition; the count for each cutoff is the maximum over many
superpositions. Like the ``TMscore`` program, remyfold takes that maximum over
the superpositions visited by the TM-score search (see
:mod:`remyfold.metrics.tmscore`), counts a residue when its distance is
``<=`` the cutoff, and divides by the reference length:

* GDT-TS = mean over cutoffs 1, 2, 4, 8 Å of ``count / L``;
* GDT-HA = mean over cutoffs 0.5, 1, 2, 4 Å of ``count / L``.
"""

from __future__ import annotations

import numpy as np

#: All cutoffs (Å) whose counts are tracked, in this order.
GDT_CUTOFFS = (0.5, 1.0, 2.0, 4.0, 8.0)
GDT_TS_CUTOFFS = (1.0, 2.0, 4.0, 8.0)
GDT_HA_CUTOFFS = (0.5, 1.0, 2.0, 4.0)


def gdt_counts(distances: np.ndarray) -> np.ndarray:
    """Residue counts within each of :data:`GDT_CUTOFFS`: ``[B, n]`` distances -> ``[B, 5]`` int."""
    cutoffs = np.asarray(GDT_CUTOFFS)
    # Compare every distance with every cutoff: [B, n, 1] <= [5] -> [B, n, 5], summed over n.
    return np.sum(distances[:, :, None] <= cutoffs, axis=1)


def gdt_scores(max_counts: np.ndarray, reference_length: int) -> tuple[float, float]:
    """``(GDT-TS, GDT-HA)`` as fractions from the best ``[5]`` counts of :func:`gdt_counts`."""
    fraction = dict(zip(GDT_CUTOFFS, np.asarray(max_counts, dtype=np.float64) / reference_length))
    gdt_ts = float(np.mean([fraction[c] for c in GDT_TS_CUTOFFS]))
    gdt_ha = float(np.mean([fraction[c] for c in GDT_HA_CUTOFFS]))
    return gdt_ts, gdt_ha
