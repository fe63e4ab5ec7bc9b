"""`align_with_breaks` against an independent textbook Gotoh programme and hand-worked cases.

The reference below is a plain scalar three-state Gotoh recursion (cell by cell, no numpy rows,
no running maxima, no pointers): it gives the best score of a global alignment with BLOSUM62 and
gaps of ``11 + 2k``, free to open at the ends and at breaks. An alignment returned by
``align_with_breaks`` is correct when the best path through exactly its pairs scores that optimum.
"""

from __future__ import annotations

import numpy as np
import pytest

from remyfold.metrics.sequence_alignment import (
    ALPHABET,
    GAP_EXTEND,
    GAP_OPEN,
    PLACEHOLDER,
    align_with_breaks,
    substitution_matrix,
)

NEG = float("-inf")


def blosum(a: str | None, b: str | None) -> float:
    """BLOSUM62 score; 0 against a placeholder (``None``)."""
    if a is None or b is None:
        return 0.0
    a, b = (letter if letter in ALPHABET else "X" for letter in (a, b))  # unknown letters count as X
    return float(substitution_matrix()[ALPHABET.index(a), ALPHABET.index(b)])


def expand(sequence: str, breaks, missing):
    """Letters with ``missing[i]`` placeholders (``None``) before residue ``i``, their breaks (a
    residue's own; the first placeholder of a run) and each position's residue index (-1: placeholder)."""
    letters, expanded_breaks, origin = [], [], []
    for i, letter in enumerate(sequence):
        for k in range(int(missing[i]) if missing is not None else 0):
            letters.append(None)
            expanded_breaks.append(k == 0)
            origin.append(-1)
        letters.append(letter)
        expanded_breaks.append(bool(breaks[i]))
        origin.append(i)
    return letters, expanded_breaks, origin


def gotoh(query, target, query_breaks, target_breaks, pairs=None, query_origin=None, target_origin=None) -> float:
    """Best score of a global alignment of two letter sequences (``None``: a placeholder); only
    through ``pairs`` when given (a set of residue index pairs ``(i, j)``; ``*_origin`` maps a
    position to its residue index, -1 for a placeholder, which may pair with anything)."""
    n, m = len(query), len(target)
    # A gap of query residues at target position j opens free at j = 0, j = m or a target break.
    open_v = [0.0 if j in (0, m) or target_breaks[j] else GAP_OPEN for j in range(m + 1)]
    open_h = [0.0 if i in (0, n) or query_breaks[i] else GAP_OPEN for i in range(n + 1)]
    match = [[NEG] * (m + 1) for _ in range(n + 1)]
    vert = [[NEG] * (m + 1) for _ in range(n + 1)]
    horiz = [[NEG] * (m + 1) for _ in range(n + 1)]
    match[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            if i and j and allowed(pairs, i - 1, j - 1, query_origin, target_origin):
                best = max(match[i - 1][j - 1], vert[i - 1][j - 1], horiz[i - 1][j - 1])
                match[i][j] = best + blosum(query[i - 1], target[j - 1])
            if i:
                best = max(match[i - 1][j], vert[i - 1][j], horiz[i - 1][j])
                vert[i][j] = max(best + open_v[j] + GAP_EXTEND, vert[i - 1][j] + GAP_EXTEND)
            if j:
                best = max(match[i][j - 1], vert[i][j - 1])
                horiz[i][j] = max(best + open_h[i] + GAP_EXTEND, horiz[i][j - 1] + GAP_EXTEND)
    return max(match[n][m], vert[n][m], horiz[n][m])


def allowed(pairs, i: int, j: int, query_origin, target_origin) -> bool:
    if pairs is None:
        return True
    a = i if query_origin is None else query_origin[i]
    b = j if target_origin is None else target_origin[j]
    return a < 0 or b < 0 or (a, b) in pairs


def random_case(rng, n: int, m: int, letters: str):
    query = "".join(rng.choice(list(letters), size=n))
    # The target: a mutated copy of the query with an insertion and a deletion, or unrelated.
    target = "".join(rng.choice(list(letters), size=m))
    if rng.random() < 0.6 and n >= 4:
        cut = int(rng.integers(1, n - 2))
        target = (query[:cut] + "".join(rng.choice(list(letters), size=int(rng.integers(0, 4))))
                  + query[cut + int(rng.integers(0, 3)):])
        target = "".join(c if rng.random() > 0.2 else str(rng.choice(list(letters))) for c in target)
    query_breaks = rng.random(len(query)) < 0.15
    target_breaks = rng.random(len(target)) < 0.15
    return query, target, query_breaks, target_breaks


@pytest.mark.parametrize("seed", range(60))
def test_alignment_is_optimal_against_plain_gotoh(seed):
    rng = np.random.default_rng(seed)
    letters = "ACDEFGHIKLMNPQRSTVWY" if seed % 2 else "AWGC"  # few letters: many ties and repeats
    query, target, query_breaks, target_breaks = random_case(rng, int(rng.integers(1, 14)),
                                                             int(rng.integers(1, 14)), letters)
    query_index, target_index = align_with_breaks(query, target, query_breaks, target_breaks)
    assert query_index.dtype == np.int64 and target_index.dtype == np.int64
    assert np.all(np.diff(query_index) > 0) and np.all(np.diff(target_index) > 0)
    pairs = set(zip(query_index.tolist(), target_index.tolist()))
    optimum = gotoh(query, target, query_breaks, target_breaks)
    assert gotoh(query, target, query_breaks, target_breaks, pairs) == pytest.approx(optimum), (query, target)


@pytest.mark.parametrize("seed", range(40))
def test_alignment_with_placeholders_is_optimal_against_plain_gotoh(seed):
    rng = np.random.default_rng(1000 + seed)
    letters = "ACDEFGHIKLMNPQRSTVWY" if seed % 2 else "AWGC"
    query, target, query_breaks, target_breaks = random_case(rng, int(rng.integers(1, 11)),
                                                             int(rng.integers(1, 11)), letters)
    # holes of 1-3 residues before some residues; their breaks are not always set (the API allows it)
    query_missing = rng.integers(1, 4, len(query)) * (rng.random(len(query)) < 0.25)
    target_missing = rng.integers(1, 4, len(target)) * (rng.random(len(target)) < 0.25) if seed % 3 else None
    query_index, target_index = align_with_breaks(query, target, query_breaks, target_breaks,
                                                  query_missing, target_missing)
    assert np.all(np.diff(query_index) > 0) and np.all(np.diff(target_index) > 0)
    assert np.all(query_index >= 0) and np.all(target_index >= 0)
    q, qb, qo = expand(query, query_breaks, query_missing)
    t, tb, to = expand(target, target_breaks, target_missing)
    pairs = set(zip(query_index.tolist(), target_index.tolist()))
    optimum = gotoh(q, t, qb, tb)
    assert gotoh(q, t, qb, tb, pairs, qo, to) == pytest.approx(optimum), (query, target)


@pytest.mark.parametrize(
    "query, target, query_breaks, target_breaks, query_missing, target_missing, pairs",
    [
        # found by comparing against altered copies of the programme (rare in random cases)
        ("SVFWL", "MRWDN", [0, 0, 0, 0, 0], [0, 0, 0, 1, 1], [0, 0, 0, 2, 0], None, ([3], [2])),
        ("G", "GWWWGCAC", [0], [0, 0, 0, 0, 0, 0, 0, 1], None, [0, 0, 0, 0, 1, 0, 0, 2], ([0], [0])),
        ("WWCAW", "CGAAGCGG", [1, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1, 1, 0], [0, 1, 0, 0, 0], None,
         ([0, 1, 2, 3, 4], [0, 4, 5, 6, 7])),
        ("B", "WBBBBWB", [0], [0] * 7, None, [0, 0, 0, 0, 0, 2, 0], ([], [])),  # B is X: X-X = -1, not 0
        ("TQHCQGDP", "QKQZTB", [1, 0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 2, 0], None,
         ([2, 3, 4, 5], [0, 1, 2, 3])),
        # a tie between the free leading gap (G W/G) and the free trailing one (W/G G): the gap read back
        # from the end is the shortest, so W pairs with the last G (the DP's start cell scores 0, like row 0)
        ("W", "GG", [0], [0, 0], None, None, ([0], [1])),
        # W-W with a placeholder hole in the target: the horizontal gap after it starts from the match cell,
        # not from a vertical gap of equal score (that path would lose the W-W pair)
        ("WKC", "QWEEG", [1, 0, 0], [0, 1, 1, 1, 0], None, [0, 0, 1, 0, 0], ([0], [1])),
    ],
)
def test_hard_cases_are_optimal(query, target, query_breaks, target_breaks, query_missing, target_missing, pairs):
    query_breaks, target_breaks = np.array(query_breaks, bool), np.array(target_breaks, bool)
    query_index, target_index = align_with_breaks(query, target, query_breaks, target_breaks,
                                                  query_missing, target_missing)
    q, qb, qo = expand(query, query_breaks, query_missing)
    t, tb, to = expand(target, target_breaks, target_missing)
    found = set(zip(query_index.tolist(), target_index.tolist()))
    assert gotoh(q, t, qb, tb, found, qo, to) == pytest.approx(gotoh(q, t, qb, tb))
    assert (query_index.tolist(), target_index.tolist()) == pairs


def test_ties_go_to_the_shortest_gap_read_from_the_end():
    # WGCGA against G: the G can pair with either G of the query (both score 11 - 3 * 2 = -2 with the
    # free end gaps); a vertical gap extended or opened anew at equal score is opened anew, so the
    # gap read back from the end is the one-residue gap of the A and the second G pairs.
    breaks = np.array([0, 0, 1, 0, 1], bool)
    assert gotoh("WGCGA", "G", breaks, [True]) == -2.0
    query_index, target_index = align_with_breaks("WGCGA", "G", breaks, np.ones(1, bool))
    assert query_index.tolist() == [3] and target_index.tolist() == [0]


def test_hand_worked_gap_costs():
    # WW vs W: one W pairs (11), the other is a 1-gap at an end (free open): 11 - 2 = 9.
    assert gotoh("WW", "W", [False] * 2, [False]) == 9.0
    # WAW vs WW, inside: 11 + 11 - (11 + 2) = 9; with a target break before the second W: 22 - 2 = 20.
    assert gotoh("WAW", "WW", [False] * 3, [False, False]) == 9.0
    assert gotoh("WAW", "WW", [False] * 3, [False, True]) == 20.0
    query_index, target_index = align_with_breaks("WAW", "WW", np.zeros(3, bool), np.zeros(2, bool))
    assert query_index.tolist() == [0, 2] and target_index.tolist() == [0, 1]


def test_gap_costs_eleven_plus_two_k():
    assert (GAP_OPEN, GAP_EXTEND) == (-11.0, -2.0)
    # A 3-residue insertion inside (11 + 3 * 2 = 17) beats mismatching the flanks.
    query, target = "WCWHHHWCW", "WCWWCW"
    query_index, target_index = align_with_breaks(query, target, np.zeros(9, bool), np.zeros(6, bool))
    assert query_index.tolist() == [0, 1, 2, 6, 7, 8] and target_index.tolist() == [0, 1, 2, 3, 4, 5]


def test_free_gap_at_a_break_moves_the_gap():
    # The target has one more A; its gap (free at a query break, 13 elsewhere) goes to the break.
    query, target = "CAAAAC", "CAAAAAC"
    for place in (1, 2, 3, 4, 5):
        breaks = np.zeros(6, bool)
        breaks[place] = True
        query_index, target_index = align_with_breaks(query, target, breaks, np.zeros(7, bool))
        assert query_index.tolist() == [0, 1, 2, 3, 4, 5]
        assert target_index.tolist() == [*range(place), *range(place + 1, 7)], place
        # the same with the roles swapped: a target break places the gap of query residues
        target_index, query_index = align_with_breaks(target, query, np.zeros(7, bool), breaks)
        assert target_index.tolist() == [*range(place), *range(place + 1, 7)], place


def test_island_between_two_holes_stays_with_placeholders():
    # The query lost target residues 2 (D) and 4 (W); its island W is target residue 3, not 4.
    query, target = "ACWEF", "ACDWWEF"
    missing = np.array([0, 0, 1, 1, 0])
    breaks = missing > 0
    query_index, target_index = align_with_breaks(query, target, breaks, np.zeros(7, bool), missing)
    assert query_index.tolist() == [0, 1, 2, 3, 4] and target_index.tolist() == [0, 1, 3, 5, 6]
    # Mirrored: the placeholders on the target side.
    target_index, query_index = align_with_breaks(target, query, np.zeros(7, bool), breaks, None, missing)
    assert query_index.tolist() == [0, 1, 2, 3, 4] and target_index.tolist() == [0, 1, 3, 5, 6]


def test_hole_with_placeholders_at_the_start_and_end():
    # Two residues missing before the first one: the query starts at target residue 2.
    query, target = "WCWYF", "WCWCWYF"
    missing = np.array([2, 0, 0, 0, 0])
    query_index, target_index = align_with_breaks(query, target, np.zeros(5, bool), np.zeros(7, bool), missing)
    assert query_index.tolist() == [0, 1, 2, 3, 4] and target_index.tolist() == [2, 3, 4, 5, 6]


def test_substitution_matrix_shape_and_placeholder_row():
    matrix = substitution_matrix()
    assert matrix.shape == (len(ALPHABET) + 1, len(ALPHABET) + 1) and PLACEHOLDER == len(ALPHABET)
    assert not matrix[PLACEHOLDER].any() and not matrix[:, PLACEHOLDER].any()
    assert np.array_equal(matrix, matrix.T)
    assert blosum("W", "W") == 11 and blosum("X", "A") == 0 and blosum("X", "X") == -1


def test_unknown_letters_score_as_x():
    # B, Z, U, O: not in the alphabet, they count as X (X-X = -1, X-W = -2).
    query_index, target_index = align_with_breaks("WBW", "WZW", np.zeros(3, bool), np.zeros(3, bool))
    assert query_index.tolist() == [0, 1, 2] and target_index.tolist() == [0, 1, 2]
    assert gotoh("WXW", "WXW", [False] * 3, [False] * 3) == 21.0
