"""Structure-based residue pairing: TM-align (Zhang & Skolnick 2005) through the ``tmtools`` package.

Where two chains are too far apart in sequence for a sequence alignment to be
trusted (homologs below about 50 % identity), their residues are paired by
where they lie in space instead: TM-align superposes the two Cα traces and
aligns them by dynamic programming on the superposed distances, iterating both.
Its alignment (the two gapped sequences it returns) gives the residue pairs;
remyfold then scores those pairs like any others.

``tmtools`` (GPLv3, wrapping TM-align's C++ code) is an optional dependency, the
``remyfold[structure]`` extra, imported only when a structure pairing is made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from remyfold.errors import InputError

EXTRA_HINT = "structure-based pairing needs tmtools: pip install 'remyfold[structure]'"


@dataclass(frozen=True)
class StructurePairs:
    """Residue pairs of a TM-align structure alignment.

    Attributes:
        query_residues: ``[K]`` int, indices into the query (model) chain.
        target_residues: ``[K]`` int, the paired indices into the target (reference) chain, increasing.
        tm_score: TM-align's TM-score of the alignment, normalised by the target's length.
        tm_score_query: the same normalised by the query's length.
    """

    query_residues: np.ndarray
    target_residues: np.ndarray
    tm_score: float
    tm_score_query: float


def structure_available() -> bool:
    """Whether ``tmtools`` can be imported."""
    import importlib.util

    return importlib.util.find_spec("tmtools") is not None


def tm_align_pairs(
    query_ca: np.ndarray, target_ca: np.ndarray, query_sequence: str, target_sequence: str
) -> StructurePairs:
    """Pair residues of two Cα traces (``[N, 3]``, ``[M, 3]``) by TM-align's structure alignment.

    Raises:
        InputError: ``tmtools`` is not installed (the one-line hint names the extra).
    """
    try:
        import tmtools
    except ImportError:
        raise InputError(EXTRA_HINT) from None
    result = tmtools.tm_align(
        np.ascontiguousarray(query_ca, dtype=np.float64),
        np.ascontiguousarray(target_ca, dtype=np.float64),
        query_sequence,
        target_sequence,
    )
    query_residues, target_residues = gapped_pairs(result.seqxA, result.seqyA)
    return StructurePairs(query_residues, target_residues, float(result.tm_norm_chain2), float(result.tm_norm_chain1))


def gapped_pairs(query_aligned: str, target_aligned: str) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``([K], [K])`` of the columns of two gapped sequences (``-`` = gap) where neither is a gap."""
    query = np.frombuffer(query_aligned.encode(), dtype="S1")
    target = np.frombuffer(target_aligned.encode(), dtype="S1")
    # Residue index of each column: how many residues come before it in its own sequence.
    query_index = np.cumsum(query != b"-") - 1
    target_index = np.cumsum(target != b"-") - 1
    both = (query != b"-") & (target != b"-")
    return query_index[both].astype(np.int64), target_index[both].astype(np.int64)
