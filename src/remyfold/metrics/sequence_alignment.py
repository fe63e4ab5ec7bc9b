"""Global sequence alignment whose gaps open freely at chain breaks on either side (Gotoh 1982).

Affine gaps (a gap of ``k`` residues costs ``-(GAP_OPEN + k * GAP_EXTEND)`` =
11 + 2k: of the costs tried, 10+k, 8+k, 6+k, 4+k, 10+k/2, 9+2k, 7+2k, 6+2k, 12+k and
11+2k, the one whose pairs of five homolog pairs at 46-99 % identity (T-cell
receptor chains, zinc fingers) scored closest to TM-align's; the BLOSUM62
substitution scores are NCBI's, from biotite's
``SubstitutionMatrix.std_protein_matrix()``) as in a standard
Needleman–Wunsch/Gotoh alignment, with two changes:

* opening a gap costs nothing where it falls on a *break* of the other chain,
  i.e. where that chain's observed residues skip some (numbering jump or a long
  Cα–Cα gap), and at the chain ends;
* where a break's numbering says how many residues are missing (``missing[i]``:
  a numbering jump across a Cα–Cα distance that that many residues can span),
  that many *placeholders* are put in the sequence; a placeholder scores 0
  against anything, so the other chain's residues fill the hole one for one
  and an island of residues between two holes cannot slide onto an identical
  neighbour. Pairs with a placeholder are dropped from the result.

Residues that one chain has and the other did not observe are thereby placed
against the gap they belong in, instead of wherever the plain alignment happens
to put them.

The dynamic programme runs row by row over the query (``N``) with numpy over the
target (``M``): the match and vertical-gap states of a row come from the
previous row, and the horizontal-gap state is a running maximum along the row
(its opening cost is constant along a row). Pointers are kept for the traceback,
so memory is ``O(N M)`` bytes; this path is only taken when residue numbering
cannot pair the chains.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

GAP_OPEN = -11.0
GAP_EXTEND = -2.0
ALPHABET = "ACDEFGHIKLMNPQRSTVWYX"
PLACEHOLDER = len(ALPHABET)  # code of a residue that the numbering says is missing
_NEG = -1e18


@lru_cache(maxsize=1)
def substitution_matrix() -> np.ndarray:
    """``[22, 22]`` BLOSUM62 scores over :data:`ALPHABET` plus the placeholder (row/column of 0).

    Read from biotite's copy of NCBI's BLOSUM62 (``X`` included); ``tests/metrics/test_metrics.py``
    checks it against gemmi's table, which is indexed by three-letter names.
    """
    from biotite.sequence import align

    blosum = align.SubstitutionMatrix.std_protein_matrix()
    alphabet = blosum.get_alphabet1()
    codes = [alphabet.encode(letter) for letter in ALPHABET]
    matrix = np.zeros((len(ALPHABET) + 1, len(ALPHABET) + 1))
    matrix[: len(ALPHABET), : len(ALPHABET)] = blosum.score_matrix()[np.ix_(codes, codes)]
    return matrix


def _codes(sequence: str) -> np.ndarray:
    """Indices into :data:`ALPHABET` (unknown letters -> X)."""
    lookup = {letter: i for i, letter in enumerate(ALPHABET)}
    return np.array([lookup.get(letter, len(ALPHABET) - 1) for letter in sequence], dtype=np.int64)


def _expand(sequence: str, breaks: np.ndarray, missing: np.ndarray | None):
    """Codes ``[N']`` with ``missing[i]`` placeholders before residue ``i``, the breaks ``[N']``
    (a residue's own, and one at the start of each run of placeholders) and the index of each
    position in ``sequence`` (-1 for a placeholder)."""
    codes = _codes(sequence)
    missing = np.zeros(len(codes), dtype=np.int64) if missing is None else np.asarray(missing, dtype=np.int64)
    # Residue i sits at position i + (placeholders before it, its own included).
    residue_position = np.arange(len(codes)) + np.cumsum(missing)
    size = len(codes) + int(missing.sum())
    expanded = np.full(size, PLACEHOLDER, dtype=np.int64)
    expanded[residue_position] = codes
    index = np.full(size, -1, dtype=np.int64)
    index[residue_position] = np.arange(len(codes))
    expanded_breaks = np.zeros(size, dtype=bool)
    expanded_breaks[residue_position] = breaks
    expanded_breaks[(residue_position - missing)[missing > 0]] = True  # first placeholder of a run
    return expanded, expanded_breaks, index


def align_with_breaks(
    query: str,
    target: str,
    query_breaks: np.ndarray,
    target_breaks: np.ndarray,
    query_missing: np.ndarray | None = None,
    target_missing: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Align ``query`` (``N``) and ``target`` (``M``); return paired indices ``([K], [K])``.

    Args:
        query, target: one-letter sequences.
        query_breaks: ``[N]`` bool, a break before query residue ``i`` (free opening of
            a gap of target residues there).
        target_breaks: ``[M]`` bool, a break before target residue ``j``.
        query_missing, target_missing: ``[N]`` / ``[M]`` int, residues known to be missing
            before each residue (placeholders, see the module docstring); ``None``: none.
    """
    query_codes, query_breaks, query_origin = _expand(query, query_breaks, query_missing)
    target_codes, target_breaks, target_origin = _expand(target, target_breaks, target_missing)
    scores = substitution_matrix()[query_codes][:, target_codes]  # [N', M']
    # Opening cost of a gap of query residues before target position j (0..M), and of target
    # residues before query position i (0..N): free at breaks and at both ends.
    open_vertical = np.where(np.concatenate([[True], target_breaks[1:], [True]]), 0.0, GAP_OPEN)
    open_horizontal = np.where(np.concatenate([[True], query_breaks[1:], [True]]), 0.0, GAP_OPEN)
    state, partial_state, origin = _fill(scores, open_vertical, open_horizontal)
    query_index, target_index = _traceback(state, partial_state, origin, len(query_codes), len(target_codes))
    # Drop the pairs with a placeholder and go back to the residues' own indices.
    query_index, target_index = query_origin[query_index], target_origin[target_index]
    real = (query_index >= 0) & (target_index >= 0)
    return query_index[real], target_index[real]


def _fill(scores, open_vertical, open_horizontal):
    """Fill the three-state DP; return per-cell best state ``[N+1, M+1]`` (0 match, 1 vertical,
    2 horizontal), the better of match and vertical (where a horizontal gap may start), and, per
    cell, where a gap ending there began."""
    n, m = scores.shape
    columns = np.arange(m + 1)
    best = np.full(m + 1, _NEG)  # best score of row i - 1 over all states
    vertical = np.full(m + 1, _NEG)
    best[0] = 0.0
    best[1:] = open_horizontal[0] + GAP_EXTEND * columns[1:]
    state = np.zeros((n + 1, m + 1), dtype=np.int8)
    state[0, 1:] = 2
    partial_state = np.zeros((n + 1, m + 1), dtype=np.int8)
    origin = np.zeros((n + 1, m + 1), dtype=np.int32)  # start row (vertical) or column (horizontal)
    vertical_start = np.zeros(m + 1, dtype=np.int32)
    for i in range(1, n + 1):
        match = np.full(m + 1, _NEG)
        match[1:] = best[:-1] + scores[i - 1]
        # Vertical: extend the previous row's vertical gap, or open one from its best.
        opened = best + open_vertical[columns] + GAP_EXTEND
        extended = vertical + GAP_EXTEND
        vertical_start = np.where(opened >= extended, i - 1, vertical_start)
        vertical = np.maximum(opened, extended)
        partial = np.maximum(match, vertical)
        partial_state[i] = vertical > match
        # Horizontal: max over k < j of partial[k] + open + extend * (j - k), as a running maximum.
        anchored = partial - GAP_EXTEND * columns
        running = np.maximum.accumulate(anchored)
        start = _running_argmax(anchored)
        horizontal = np.full(m + 1, _NEG)
        horizontal[1:] = running[:-1] + open_horizontal[i] + GAP_EXTEND * columns[1:]
        row = np.stack([match, vertical, horizontal])
        state[i] = np.argmax(row, axis=0)
        origin[i] = np.where(state[i] == 1, vertical_start, 0)
        origin[i, 1:] = np.where(state[i, 1:] == 2, start[:-1], origin[i, 1:])
        best = row.max(axis=0)
    return state, partial_state, origin


def _running_argmax(values: np.ndarray) -> np.ndarray:
    """``[M]`` index of the (first) maximum of ``values[:j + 1]`` for each ``j``."""
    running = np.maximum.accumulate(values)
    is_new = np.concatenate([[True], values[1:] > running[:-1]])
    return np.maximum.accumulate(np.where(is_new, np.arange(len(values)), 0))


def _traceback(state, partial_state, origin, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Walk back from ``(n, m)``; return the matched ``(query, target)`` indices in order."""
    query, target = [], []
    i, j = n, m
    after_horizontal = False  # a horizontal gap starts from a match or vertical state
    while i > 0 or j > 0:
        if i == 0:
            kind = 2
        else:
            kind = partial_state[i, j] if after_horizontal else state[i, j]
        after_horizontal = kind == 2
        if kind == 0:
            query.append(i - 1)
            target.append(j - 1)
            i, j = i - 1, j - 1
        elif kind == 1:
            i = origin[i, j]
        else:
            j = origin[i, j] if i > 0 else 0
    return np.asarray(query[::-1], dtype=np.int64), np.asarray(target[::-1], dtype=np.int64)
