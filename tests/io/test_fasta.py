"""Tests of remyfold.sequence: parsing, gzip, and every validation error."""

from __future__ import annotations

import gzip

import pytest

from remyfold.errors import InputError
from remyfold.sequence import read_fasta


def write(tmp_path, text: str, name: str = "in.fasta"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_records_ids_lines_and_uppercase(tmp_path):
    path = write(tmp_path, ">p1 myelin protein\nmgll\nECca\n\n>p2\nACDEFGHIKLMNPQRSTVWYX\n")
    records = read_fasta([path])
    assert [r.id for r in records] == ["p1", "p2"]
    assert records[0].sequence == "MGLLECCA"
    assert records[0].line == 1 and records[1].line == 5
    assert records[0].source == str(path)
    assert records[1].length == 21


def test_complex_chains_and_length(tmp_path):
    path = write(tmp_path, ">cx\nAAAA:\nGG:W\n")
    [record] = read_fasta(path)
    assert record.sequence == "AAAA:GG:W"
    assert record.chains == ["AAAA", "GG", "W"]
    assert record.length == 7


def test_trailing_stop_stripped_per_chain(tmp_path):
    [record] = read_fasta(write(tmp_path, ">s\nMKV*:GGA*\n"))
    assert record.sequence == "MKV:GGA"


def test_gzip_detected_by_magic_bytes(tmp_path):
    path = tmp_path / "named_plain.fa"  # no .gz suffix on purpose
    path.write_bytes(gzip.compress(b">g\nMKV\n"))
    [record] = read_fasta([path])
    assert (record.id, record.sequence) == ("g", "MKV")


def test_several_files_in_order(tmp_path):
    a = write(tmp_path, ">a\nMK\n", "a.fa")
    b = write(tmp_path, ">b\nGG\n", "b.fa")
    assert [r.id for r in read_fasta([b, a])] == ["b", "a"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (">p1\nMKVB\n", ["in.fasta", "'p1'", "'B'", "residue 4", "D or N"]),
        (">p1\nMK\nV1\n", ["'1'", "residue 4", "line 3"]),
        (">cx\nAAA:GJG\n", ["'J'", "residue 2 of the chain 2"]),
        (">p1\nMK-V\n", ["'-'", "residue 3", "gaps"]),
        (">p1\nMK*V\n", ["'*'", "residue 3"]),
        (">p1\nMK**\n", ["'*'", "residue 3"]),
    ],
)
def test_bad_letters_named_with_position(tmp_path, text, expected):
    with pytest.raises(InputError) as info:
        read_fasta(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    for part in expected:
        assert part in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "is empty"),
        ("\n\n", "is empty"),
        (">a\n>b\nMK\n", "'a'"),  # record a has no sequence
        ("MKV\n>a\nMK\n", "not a FASTA file"),
        (">\nMK\n", "no id"),
        (">a\nAAA::BBB\n", "chain 2 is empty"),
        (">a\n:AAA\n", "chain 1 is empty"),
        (">a\nAAA:\n", "chain 2 is empty"),
        (">a\n*\n", "is empty"),
        (">a/b\nMK\n", "file name"),
        (">a\nMK\n>a other\nGG\n", "same id"),
        (">abc\nMK\n>ABC\nGG\n", "only in case"),
    ],
)
def test_invalid_files(tmp_path, text, expected):
    with pytest.raises(InputError, match=expected):
        read_fasta(write(tmp_path, text))


def test_duplicate_ids_across_files(tmp_path):
    a = write(tmp_path, ">x\nMK\n", "a.fa")
    b = write(tmp_path, ">x\nGG\n", "b.fa")
    with pytest.raises(InputError, match="a.fa line 1.*b.fa line 1"):
        read_fasta([a, b])


def test_binary_and_missing_files(tmp_path):
    binary = tmp_path / "x.fa"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    with pytest.raises(InputError, match="not a FASTA file"):
        read_fasta([binary])
    with pytest.raises(InputError, match="no such file"):
        read_fasta([tmp_path / "absent.fa"])
    with pytest.raises(InputError, match="is a directory"):
        read_fasta([tmp_path])
    broken = tmp_path / "broken.fa"
    broken.write_bytes(gzip.compress(b">a\nMK\n")[:12])
    with pytest.raises(InputError, match="cannot read"):
        read_fasta([broken])


def test_max_length_counts_all_chains_without_separators(tmp_path):
    path = write(tmp_path, ">cx\nAAAAA:BBBB\n".replace("B", "G"))
    assert read_fasta(path, max_length=9)[0].length == 9
    with pytest.raises(InputError, match="9 residues, over the limit of 8.*--max-length"):
        read_fasta(path, max_length=8)
