"""The sequence rules around the FASTA reader (issue 25): record ids, complexes, batching.

tests/io/test_fasta.py checks the reader on files; these check the rules at their edges: an id
of exactly :data:`MAX_ID_BYTES` bytes and one byte more, the last nameable chain and one more,
a batch that fills its token budget exactly, and the ids shown in messages.
"""

from __future__ import annotations

import pytest

from remyfold.errors import InputError
from remyfold.sequence import (
    CHAIN_IDS,
    LINKER,
    MAX_ID_BYTES,
    RESIDUE_INDEX_OFFSET,
    FastaRecord,
    chain_summary,
    folded_length,
    id_problem,
    make_batches,
    parse_fasta_text,
    plan_batches,
    shown_id,
)


def record(record_id, sequence):
    return FastaRecord(record_id, sequence, "x.fa", 1)


def test_make_batches_respects_token_budget():
    records = [record("a", "M" * 10), record("b", "M" * 30), record("c", "M" * 12), record("d", "M" * 200),
               record("e", "M" * 5 + ":" + "M" * 5)]  # fmt: skip  # e folds as 5 + 25 linker + 5 = 35 tokens
    # Sorted by folded length 10, 12, 30, 35, 200; a batch holds n records of length <= L while n * L <= budget.
    assert [[r.id for r in batch] for batch in make_batches(records, 60)] == [["a", "c"], ["b"], ["e"], ["d"]]
    assert [[r.id for r in batch] for batch in make_batches(records, 100)] == [["a", "c", "b"], ["e"], ["d"]]
    assert [[r.id for r in batch] for batch in make_batches(records, 10_000)] == [["a", "c", "b", "e", "d"]]


def test_a_batch_may_fill_its_budget_exactly():
    assert plan_batches([10, 10, 10], 30) == [[0, 1, 2]]  # 3 x 10 == 30: one batch
    assert plan_batches([10, 10, 10], 29) == [[0, 1], [2]]
    assert plan_batches([50, 7], 20) == [[1], [0]]  # over the budget: folded alone, after the short one
    assert plan_batches([], 100) == []
    # the next record joins the last batch, not the first: [0, 1, 2] is full at 3 x 20, [3] has room
    assert plan_batches([10, 10, 10, 20, 20], 40) == [[0, 1, 2], [3, 4]]


def test_complexes_follow_esmfolds_convention():
    """ESMFold folds a complex as one chain: a 25-glycine linker, residue index + 512 per chain."""
    assert LINKER == "G" * 25 and RESIDUE_INDEX_OFFSET == 512


def test_records_are_immutable():
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        record("a", "MKV").sequence = "MKVL"


def test_folded_length_counts_one_linker_between_chains():
    assert folded_length(record("a", "MKV")) == 3
    assert folded_length(record("a", "MKV:GG:W")) == 6 + 2 * 25
    assert chain_summary(["MKV", "GG", "W"]) == "A:3,B:2,C:1"


@pytest.mark.parametrize("record_id", ["a/b", "a\\b", ".", ".."])
def test_ids_that_are_paths_are_refused(record_id):
    assert "file name" in id_problem(record_id)


def test_id_length_limit_is_in_utf8_bytes():
    assert MAX_ID_BYTES == 128
    assert id_problem("a" * 128) is None
    assert "129 bytes long" in id_problem("a" * 129)
    assert id_problem("é" * 64) is None  # 2 bytes each: 128
    assert "130 bytes long" in id_problem("é" * 65)
    assert "control character '\\x00'" in id_problem("a\x00b")
    assert id_problem("..a") is None and id_problem("a.b") is None


def test_shown_ids_are_escaped_and_cut():
    assert shown_id("a\tb") == "a\\tb"
    assert shown_id("a\\b'é\u00a0c") == "a\\b'é\u00a0c"  # only control characters are escaped
    assert shown_id("x" * 60) == "x" * 60
    assert shown_id("x" * 61) == "x" * 59 + "…"
    assert shown_id("abcdef", limit=4) == "abc…"


def test_the_last_nameable_chain_and_one_more():
    assert len(CHAIN_IDS) == 62
    [ok] = parse_fasta_text(">cx\n" + ":".join(["MK"] * 62) + "\n", "text")
    assert len(ok.chains) == 62
    with pytest.raises(InputError, match="63 chains, more than the 62"):
        parse_fasta_text(">cx\n" + ":".join(["MK"] * 63) + "\n", "text")


def test_text_input_follows_the_file_rules():
    records = parse_fasta_text(">a  first\n m k v \n\n>b\nGG*\n", "pasted")
    assert [(r.id, r.sequence, r.source, r.line) for r in records] == [("a", "MKV", "pasted", 1), ("b", "GG", "pasted", 4)]
    with pytest.raises(InputError, match="have the same id"):
        parse_fasta_text(">abc\nMK\n>abc\nGG\n", "pasted")
    for first, second in (("abc", "aBc"), ("aBc", "abc")):
        with pytest.raises(InputError, match="have ids differing only in case"):
            parse_fasta_text(f">{first}\nMK\n>{second}\nGG\n", "pasted")
    with pytest.raises(TypeError):  # the length limit only by name: a stray number is no limit
        parse_fasta_text(">a\nMK\n", "pasted", 4)
    with pytest.raises(InputError, match=r"pasted line 1, record 'a': invalid letter 'Z' at residue 3 of the sequence \(file line 3\)"):
        parse_fasta_text(">a\nMK\nZ\n", "pasted")
    with pytest.raises(InputError, match="residue 2 of the chain 2 .file line 2"):
        parse_fasta_text(">a\nMK:AB\n", "pasted")
    with pytest.raises(InputError, match="over the limit of 4"):
        parse_fasta_text(">a\nMK:GGA\n", "pasted", max_length=4)
    assert parse_fasta_text(">a\nMK:GG\n", "pasted", max_length=4)[0].length == 4


def test_read_fasta_takes_the_length_limit_only_by_name(tmp_path):
    from remyfold.sequence import read_fasta

    path = tmp_path / "a.fa"
    path.write_text(">a\nMKV\n")
    assert read_fasta(path, max_length=3)[0].length == 3
    with pytest.raises(TypeError):
        read_fasta(path, 2)
