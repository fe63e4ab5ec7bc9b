"""The pieces of `remyfold.metrics.alignment` on small hand-made chains: breaks, holes of known
size, the twilight-zone identity, the chain options and the choice of residue pairing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from remyfold.errors import InputError
from remyfold.io.structure_reader import ChainRecord
from remyfold.metrics import structure_pairing
from remyfold.metrics.alignment import (
    align_chains,
    chain_breaks,
    missing_residues,
    pair_chains,
    parse_chain_list,
    parse_chain_map,
    reliable_identity,
)
from remyfold.metrics.structure_pairing import StructurePairs


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


# --- boundaries and branches pinned by the mutation run of metrics.alignment (issue 25) ---


def runtime(word: str) -> str:
    """``word`` built at run time (as argparse gives it): not the interned literal, so ``is`` differs from ``==``."""
    return "".join(list(word))


@pytest.fixture
def fake_tm_align(monkeypatch):
    """Replace TM-align with fixed pairs (the first ``pairs`` residues of each chain) and TM-scores."""

    def install(tm_score: float, tm_score_query: float, pairs: int = 3) -> None:
        found = StructurePairs(np.arange(pairs), np.arange(pairs), tm_score, tm_score_query)
        monkeypatch.setattr(structure_pairing, "structure_available", lambda: True)
        monkeypatch.setattr(structure_pairing, "tm_align_pairs", lambda *args: found)

    return install


def test_chain_breaks_count_a_jump_that_is_also_far_once_and_not_insertion_codes():
    # a numbering jump across a long gap is one break (not "jump xor far")
    assert chain_breaks(chain("ACD", numbers=[1, 2, 5], steps=[3.8, 8.0])).tolist() == [False, False, True]
    # 52, 52A, 53 (insertion code) and a renumbered start are continuous: only jumps up by more than 1 break
    assert not chain_breaks(chain("ACDE", numbers=[51, 52, 52, 53])).any()
    assert not chain_breaks(chain("ACD", numbers=[10, 1, 2])).any()


def test_no_missing_residues_across_a_jump_over_a_short_ca_distance():
    record = chain("ACDE", numbers=[5, 8, 9, 10], steps=[3.8, 3.8, 3.8])  # numbers skip, chain continuous
    assert missing_residues(record).tolist() == [0, 0, 0, 0]


def test_reliable_identity_pins_rost_curve_constants():
    # 30-digit values of 4.80 * L ** (-0.32 * (1 + exp(-L / 1000))) (mpmath, mp.dps = 30)
    assert reliable_identity(12) == pytest.approx(0.987835275496053852835934872396, abs=1e-12)
    assert reliable_identity(20) == pytest.approx(0.719160653761510927949280009737, abs=1e-12)
    assert reliable_identity(30) == pytest.approx(0.562151539218293187354955145730, abs=1e-12)


def test_numbering_needs_half_of_the_shorter_chain():
    reference = chain("ACDEFGHIKL")
    half = chain("ACDEFGHIKL", numbers=[1, 2, 3, 4, 5, 50, 51, 52, 53, 54])  # 5 of 10 numbers shared
    less = chain("ACDEFGHIKL", numbers=[1, 2, 3, 4, 50, 51, 52, 53, 54, 55])  # 4 of 10
    paired = align_chains(half, reference, pairing="numbering")
    assert paired.method == "numbering" and paired.reference_residues.tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(InputError, match="cannot be paired by residue numbering"):
        align_chains(less, reference, pairing="numbering")


@pytest.mark.parametrize(
    "model, reference",
    [
        ("AAAAAAAAAA", "CCCCCCCCCC"),  # every residue differs (A < C: not "model <= reference")
        ("CCCCCCCCCC", "AAAAAAAAAA"),  # (C > A: not "model >= reference")
        ("YYYYYYYYAC", "YYYYYYYYDE"),  # 80 % agree: Y (after X in the alphabet) is a known residue
        ("XXXACD", "XXXACE"),  # three known pairs, one differs: 67 % is not 90 %
    ],
)
def test_numbering_refused_when_residues_sharing_a_number_differ(model, reference):
    with pytest.raises(InputError, match="cannot be paired by residue numbering"):
        align_chains(chain(model), chain(reference), pairing=runtime("numbering"))


def test_numbering_at_exactly_ninety_percent_identity_and_y_counts_as_known():
    result = align_chains(chain("YYYYYYYYYA"), chain("YYYYYYYYYC"), pairing="numbering")
    assert result.method == "numbering" and result.aligned == 10 and result.identity == 0.9


def test_numbering_refused_when_a_number_repeats_in_either_chain():
    sequence = "ACDEFGHIKLMNPQRSTVWY"  # 20 residues; a repeated number pairs 19 of 20 alike
    repeated = [*range(1, 20), 19]
    for model, reference in ((chain(sequence, numbers=repeated), chain(sequence)),
                             (chain(sequence), chain(sequence, numbers=repeated))):  # fmt: skip
        with pytest.raises(InputError, match="cannot be paired by residue numbering"):
            align_chains(model, reference, pairing="numbering")


FULL_LABELS = np.arange(4, 31)  # residues 4-30 of SEQUENCE


@pytest.mark.parametrize(
    "model_full, reference_full, model_labels, reference_labels, method",
    [
        (SEQUENCE, runtime(SEQUENCE), FULL_LABELS, FULL_LABELS, "full sequence"),  # equal, not the same object
        (SEQUENCE[:-1] + "A", SEQUENCE[:-1] + "W", FULL_LABELS, FULL_LABELS, "alignment"),  # model's sorts first
        (SEQUENCE[:-1] + "W", SEQUENCE[:-1] + "A", FULL_LABELS, FULL_LABELS, "alignment"),  # reference's first
        (SEQUENCE, SEQUENCE, np.r_[0, FULL_LABELS[1:]], FULL_LABELS, "alignment"),  # 0 is no position
        (SEQUENCE, SEQUENCE, FULL_LABELS, np.r_[FULL_LABELS[:-1], 0], "alignment"),
        (SEQUENCE, SEQUENCE, np.r_[-1, FULL_LABELS[1:]], FULL_LABELS, "alignment"),  # one side unknown
    ],
)
def test_full_sequence_only_with_equal_sequences_and_known_positions(model_full, reference_full, model_labels,
                                                                     reference_labels, method):  # fmt: skip
    model = chain(SEQUENCE[3:30], numbers=np.arange(101, 128), label_seq=model_labels, full=model_full)
    reference = chain(SEQUENCE[3:30], label_seq=reference_labels, full=reference_full)
    assert align_chains(model, reference).method == method


def test_sequence_alignment_reasons_name_the_choice():
    shifted = align_chains(chain(SEQUENCE[5:25]), chain(SEQUENCE))
    assert shifted.reason == "sequence alignment (BLOSUM62), 100% identical: at least 50%"
    # 3 of 10 pairs identical: exactly MIN_IDENTITY still aligns when asked for
    asked = align_chains(chain("WCHVRETYDE"), chain("WCHIKDSFNQ"), pairing=runtime("sequence"))
    assert asked.method == "alignment" and asked.aligned == 10 and asked.identity == 0.3
    assert asked.reason == "sequence alignment (BLOSUM62), 30% identical: asked for with --pairing sequence"
    unknown = align_chains(chain("XXXXX"), chain("XXXXX"), pairing="sequence")
    assert unknown.reason == "sequence alignment (BLOSUM62), no known residue pairs: asked for with --pairing sequence"


def test_three_pairs_of_low_identity_do_not_align_and_say_so():
    with pytest.raises(InputError, match=r"\(3 aligned residues, 0% identical\)"):
        align_chains(chain("IKD"), chain("VRE"), pairing="sequence")


def test_one_residue_chains_pair_their_one_residue():
    assert align_chains(chain("A"), chain("A")).aligned == 1


def test_chain_alignment_is_frozen():
    result = align_chains(chain("ACDEF"), chain("ACDEF"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.method = "structure"


def test_structure_pairing_of_a_three_residue_chain(fake_tm_align):
    fake_tm_align(0.1, 0.1, pairs=3)
    result = align_chains(chain("ACD"), chain("ACD"), pairing=runtime("structure"))
    assert result.method == "structure" and result.aligned == 3
    assert result.reason == "structure alignment (TM-align): asked for with --pairing structure"
    fake_tm_align(0.1, 0.1, pairs=2)
    with pytest.raises(InputError, match="TM-align pairs no residues"):
        align_chains(chain("ACD"), chain("ACD"), pairing="structure")
    with pytest.raises(InputError, match="fewer than 3 residues"):
        align_chains(chain("AC"), chain("AC"), pairing="structure")


def test_structure_reasons_show_the_sequence_identity_that_was_too_low(fake_tm_align):
    fake_tm_align(0.9, 0.9, pairs=10)
    low = align_chains(chain("WCHVRETYDE"), chain("WCHIKDSFNQ"))
    assert low.method == "structure"
    assert low.reason == ("structure alignment (TM-align): sequence alignment 30% identical over 10 residues, "
                          "below the 100% where it is reliable")  # fmt: skip
    # unknown residues numbered apart: the alignment pairs them, none known
    none = align_chains(chain("X" * 10, numbers=np.arange(101, 111)), chain("X" * 10))
    assert none.reason == ("structure alignment (TM-align): sequence alignment no known residue pairs over 10 "
                           "residues, below the 100% where it is reliable")  # fmt: skip


def test_same_fold_at_exactly_the_tm_threshold(fake_tm_align):
    fake_tm_align(0.5, 0.2)
    assert align_chains(chain("W" * 10), chain("P" * 10)).method == "structure"
    fake_tm_align(0.4999, 0.2)
    with pytest.raises(InputError, match="do not superpose"):
        align_chains(chain("W" * 10), chain("P" * 10))


@pytest.mark.parametrize("length, aligns", [(29, False), (30, True), (31, True)])
def test_fold_over_the_shorter_chain_from_thirty_residues(fake_tm_align, length, aligns):
    # TM-score 0.3 over the reference (60), 0.7 over the shorter model: a domain of a larger chain
    fake_tm_align(0.3, 0.7)
    model, reference = chain("W" * length), chain("P" * 60)
    if aligns:
        assert align_chains(model, reference).method == "structure"
    else:
        with pytest.raises(InputError, match=r"TM-score 0\.30 < 0\.5"):
            align_chains(model, reference)


def test_pair_chains_one_chain_shortcuts_need_exactly_one_on_each_side():
    a, b = (chain("ACDEF", chain_id=name) for name in "AB")
    assert pair_chains([b, a], [a]) == [(a, a)]  # two model chains: by id, not the first
    assert pair_chains([b], [a, b]) == [(b, b)]  # two reference chains: by id
    with pytest.raises(InputError, match="the model has no protein chain 'B'"):
        pair_chains([a], [a, b], chains="A,B")  # two chains asked of a one-chain model
    with pytest.raises(InputError, match=r"the model has no protein chain 'A' \(its protein chains: none\)"):
        pair_chains([], [a], chains="A")
    with pytest.raises(InputError, match="model chains none and reference chains 'A' share no chain id"):
        pair_chains([], [a])
    with pytest.raises(InputError, match="model chains 'A' and reference chains none share no chain id"):
        pair_chains([a], [])
    with pytest.raises(InputError, match="model chains 'A', 'B' and reference chains 'C' share no chain id"):
        pair_chains([a, b], [chain("ACDEF", chain_id="C")])


def test_chain_map_of_many_chains():
    # more than 256 pairs: counts compared by value, not identity (small ints are cached up to 256)
    models = [chain("AC", chain_id=f"M{i}") for i in range(300)]
    references = [chain("AC", chain_id=f"R{i}") for i in range(300)]
    pairs = pair_chains(models, references, chain_map={f"M{i}": f"R{i}" for i in range(300)})
    assert pairs == list(zip(models, references))
