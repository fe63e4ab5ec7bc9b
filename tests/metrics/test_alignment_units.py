"""The pieces of `remyfold.metrics.alignment` on small hand-made chains: breaks, holes of known
size, the twilight-zone identity, the chain options and the choice of residue pairing."""

from __future__ import annotations

import numpy as np
import pytest

from remyfold.errors import InputError
from remyfold.io.structure_reader import ChainRecord
from remyfold.metrics.alignment import (
    align_chains,
    chain_breaks,
    missing_residues,
    pair_chains,
    parse_chain_list,
    parse_chain_map,
    reliable_identity,
)


def chain(sequence: str, numbers=None, steps=None, chain_id: str = "A", label_seq=None, full: str = "") -> ChainRecord:
    """A Cα-only chain along x; ``steps[i]``: Cα distance from residue i to i + 1 (3.8 Å by default)."""
    n = len(sequence)
    numbers = np.arange(1, n + 1) if numbers is None else np.asarray(numbers)
    steps = np.full(n - 1, 3.8) if steps is None else np.asarray(steps, dtype=float)
    x = np.concatenate([[0.0], np.cumsum(steps)])
    positions = np.stack([x, np.zeros(n), np.zeros(n)], axis=1)
    return ChainRecord(
        chain_id, sequence, ("ALA",) * n, numbers, ("",) * n, ("CA",) * n, np.arange(n), positions,
        np.zeros(n), np.arange(n), np.full(n, -1) if label_seq is None else np.asarray(label_seq), full,
    )  # fmt: skip


def test_chain_breaks_at_numbering_jumps_and_long_ca_gaps():
    record = chain("ACDEFG", numbers=[1, 2, 4, 5, 6, 7], steps=[3.75, 3.75, 3.75, 4.25, 3.75])
    # residue 2 follows a jump, residue 4 a 4.25 Å gap
    assert chain_breaks(record).tolist() == [False, False, True, False, True, False]
    # 4.2 Å exactly is not a break, a little more is
    assert chain_breaks(chain("AC", steps=[4.2])).tolist() == [False, False]
    assert chain_breaks(chain("AC", steps=[4.2001])).tolist() == [False, True]


@pytest.mark.parametrize(
    "jump, distance, missing",
    [
        (3, 7.0, 2),  # two residues missing across a gap they can span
        (3, 3.9 * 3, 2),  # the longest span three bonds can make
        (3, 3.9 * 3 + 0.01, 0),  # too far for two residues: a renumbered segment
        (3, 4.2, 0),  # continuous chain that skips numbers
        (1, 8.0, 0),  # a break without a numbering jump
        (101, 200.0, 100),  # the largest hole filled
        (102, 200.0, 0),  # larger holes are not filled
    ],
)
def test_missing_residues_from_jump_and_distance(jump, distance, missing):
    record = chain("ACDE", numbers=[5, 5 + jump, 6 + jump, 7 + jump], steps=[distance, 3.8, 3.8])
    assert missing_residues(record).tolist() == [0, missing, 0, 0]
    assert missing_residues(record).dtype == np.int64


def test_reliable_identity_follows_rost_curve_with_floor_and_ceiling():
    # 4.80 * L ** (-0.32 * (1 + exp(-L / 1000))), worked by hand: L = 20 -> 0.7191, L = 12 -> 0.9878
    assert reliable_identity(20) == pytest.approx(0.7191, abs=2e-4)
    assert reliable_identity(12) == pytest.approx(0.9878, abs=2e-4)
    assert reliable_identity(11) == 1.0 and reliable_identity(0) == 1.0 and reliable_identity(1) == 1.0
    assert reliable_identity(50) == 0.5 and reliable_identity(1000) == 0.5  # the curve is below 0.5 there


def test_parse_chain_list_and_map():
    assert parse_chain_list(" A, B ") == ["A", "B"] and parse_chain_list(["C"]) == ["C"]
    assert parse_chain_list(None) is None and parse_chain_map(None) is None
    assert parse_chain_map(" A:B, C:D") == {"A": "B", "C": "D"} and parse_chain_map({"A": "B"}) == {"A": "B"}
    for bad in ("A,,B", "", []):
        with pytest.raises(InputError, match="comma-separated"):
            parse_chain_list(bad)
    for bad in ("A", ":B", "A:", "A:B,A:C"):
        with pytest.raises(InputError, match="MODEL:REFERENCE"):
            parse_chain_map(bad)


def test_pair_chains_by_map_list_single_and_shared_ids():
    a, b, c = (chain("ACDEF", chain_id=name) for name in "ABC")
    x, y = (chain("ACDEF", chain_id=name) for name in "XY")
    assert pair_chains([a, b], [b, a], chain_map="A:B,B:A") == [(a, b), (b, a)]
    assert pair_chains([a, b], [a, b, c], chain_map={"B": "C"}) == [(b, c)]
    assert pair_chains([a, b, c], [c, a], chains="A,C") == [(c, c), (a, a)]
    assert pair_chains([x], [a, b], chains="B") == [(x, b)]
    assert pair_chains([x], [y]) == [(x, y)]
    assert pair_chains([a, c], [c, b, a]) == [(c, c), (a, a)]
    with pytest.raises(InputError, match="share no chain id"):
        pair_chains([x, y], [a, b])
    with pytest.raises(InputError, match="pair each once"):
        pair_chains([a, b], [a, b], chain_map="A:A,B:A")
    with pytest.raises(InputError, match="either"):
        pair_chains([a], [a], chains="A", chain_map="A:A")
    with pytest.raises(InputError, match="the model has no protein chain 'B'"):
        pair_chains([a, c], [a, b], chains="B")
    with pytest.raises(InputError, match="the reference has no protein chain 'Z'"):
        pair_chains([a], [a, b], chain_map="A:Z")


SEQUENCE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"  # 33 residues


def test_numbering_pairs_when_numbers_and_residues_agree():
    reference = chain(SEQUENCE)
    model = chain(SEQUENCE[5:25], numbers=np.arange(6, 26))  # residues 6-25 of the same numbering
    result = align_chains(model, reference)
    assert result.method == "numbering"
    assert result.model_residues.tolist() == list(range(20)) and result.reference_residues.tolist() == list(range(5, 25))
    assert result.identical == 20 and result.identity == 1.0


def test_numbering_shifted_falls_back_to_the_alignment():
    reference = chain(SEQUENCE)
    model = chain(SEQUENCE[5:25], numbers=np.arange(1, 21))  # renumbered from 1: numbers disagree
    result = align_chains(model, reference)
    assert result.method == "alignment"
    assert result.model_residues.tolist() == list(range(20)) and result.reference_residues.tolist() == list(range(5, 25))
    with pytest.raises(InputError, match="cannot be paired by residue numbering"):
        align_chains(model, reference, pairing="numbering")


def test_full_sequence_positions_pair():
    reference = chain(SEQUENCE, label_seq=np.arange(1, 34), full=SEQUENCE)
    model = chain(SEQUENCE[3:30], numbers=np.arange(101, 128), label_seq=np.arange(4, 31), full=SEQUENCE)
    result = align_chains(model, reference)
    assert result.method == "full sequence"
    assert result.reference_residues.tolist() == list(range(3, 30))


def test_identity_ignores_unknown_residues():
    reference = chain(SEQUENCE)
    model_sequence = "X" * 10 + SEQUENCE[10:]
    result = align_chains(chain(model_sequence), reference, pairing="numbering")
    assert result.aligned == 33 and result.identical == 23 and result.identity == 1.0
    unknown = align_chains(chain("XXXXX"), chain("XXXXX"))
    assert unknown.aligned == 5 and unknown.identity is None


def test_too_few_pairs_or_low_identity_do_not_align():
    with pytest.raises(InputError, match="do not align"):
        align_chains(chain("WWWWWWWWWW"), chain("PPPPPPPPPP"), pairing="sequence")
    with pytest.raises(InputError, match="unknown|not one of"):
        align_chains(chain("ACD"), chain("ACD"), pairing="tm")
    # a two-residue chain pairs when both of its residues do
    assert align_chains(chain("AC"), chain("AC")).aligned == 2


def test_numbering_needs_three_shared_residues():
    # three shared numbers (1-3) of five: enough; two of four: too few to trust the numbering
    three = align_chains(chain("ACDEF", numbers=[1, 2, 3, 20, 21]), chain("ACDKL"), pairing="numbering")
    assert three.method == "numbering" and three.reference_residues.tolist() == [0, 1, 2]
    with pytest.raises(InputError, match="cannot be paired by residue numbering"):
        align_chains(chain("ACDE", numbers=[1, 2, 30, 31]), chain("ACDE"), pairing="numbering")
