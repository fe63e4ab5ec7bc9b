"""``remyfold fetch`` and ids in ``pockets``: against stand-ins for RCSB and AlphaFold DB on 127.0.0.1
(:mod:`structure_server`: 1A28 as RCSB entry and as the AlphaFold DB model of P06401)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import gemmi
import pytest
from structure_server import EXAMPLE, HTML, Stub, structure_stub, structures_offline, stub_mmcif  # noqa: F401

from remyfold.cli import main


def _atoms(path: Path) -> int:
    return gemmi.read_structure(str(path))[0].count_atom_sites()


def test_pdb_id_is_fetched_once_and_cached(structure_stub, tmp_path, capsys):
    assert main(["fetch", "1a28"]) == 0
    cached = tmp_path / "cache" / "pdb" / "1A28.cif.gz"
    assert capsys.readouterr().out == f"{cached}\n"
    assert _atoms(cached) == gemmi.read_structure(str(EXAMPLE))[0].count_atom_sites()
    assert main(["fetch", "1A28", "1a28"]) == 0  # the same id twice: one file, printed once
    assert capsys.readouterr().out == f"{cached}\n"
    assert Stub.hits == ["/download/1A28.cif.gz"]  # the second call read the cache


def test_uniprot_accession_fetches_the_afdb_model_named_by_the_api(structure_stub, tmp_path, capsys):
    out = tmp_path / "models"
    assert main(["fetch", "P06401", "1A28", "--out", str(out)]) == 0
    assert capsys.readouterr().out.split() == [str(out / "P06401.cif"), str(out / "1A28.cif.gz")]
    assert Stub.hits[:2] == ["/api/prediction/P06401", "/files/AF-P06401-F1-model_v6.cif"]
    assert (tmp_path / "cache" / "afdb" / "P06401.cif").read_bytes() == (out / "P06401.cif").read_bytes()
    assert _atoms(out / "P06401.cif") > 1000


def test_out_that_is_a_file_is_one_line(structure_stub, tmp_path, capsys):
    out = tmp_path / "taken"
    out.write_text("mine\n")
    assert main(["fetch", "1A28", "1a28", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file" in err and out.read_text() == "mine\n"
    assert Stub.hits == []  # --out is checked before any download


@pytest.mark.parametrize("ident, message", [
    ("1ABC", "no PDB entry 1ABC at RCSB"),  # 404
    ("Q99999", "AlphaFold DB has no model of UniProt accession Q99999"),  # API 404
    ("Q11111", "AlphaFold DB's answer for Q11111"),  # an HTML page, not JSON
    ("Q22222", "AlphaFold DB's answer for Q22222"),  # JSON, but not the list of predictions
    ("hello", "'hello' is neither a PDB id"),  # bad form
    ("P0640", "'P0640' is neither a PDB id"),  # one character short of an accession
    ("HTML", "'HTML' is neither a PDB id"),  # not a PDB id (starts with a letter)
])  # fmt: skip
def test_bad_or_unknown_ids_are_one_line_exit_2(structure_stub, tmp_path, capsys, ident, message):
    out = tmp_path / "out"
    assert main(["fetch", "1A28", ident, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and message in captured.err
    assert not out.exists()  # every id is fetched before --out is made


@pytest.mark.parametrize("ident, cached", [("P12345", "afdb/P12345.cif"), ("9HTM", "pdb/9HTM.cif.gz")])
def test_an_html_error_page_is_not_cached(structure_stub, tmp_path, capsys, ident, cached):
    assert main(["fetch", ident]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did not send a structure (an HTML page" in err
    assert not (tmp_path / "cache" / cached).exists()


def test_offline_is_one_line_naming_where_to_put_the_file(structures_offline, tmp_path, capsys):
    assert main(["fetch", "4K6I"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot fetch 4K6I" in err
    assert str(tmp_path / "cache" / "pdb" / "4K6I.cif.gz") in err


# mtime=0: gzip stamps the time into its header, and the ids must be the same
# in every pytest-xdist worker's collection.
@pytest.mark.parametrize("content", [
    pytest.param(b"", id="empty"),
    pytest.param(HTML, id="html-error-page"),  # saved by an earlier tool
    pytest.param(gzip.compress(b"data_1A28\n_cell.length_a 1\n", mtime=0), id="mmcif-without-atoms"),
    pytest.param(b"\x1f\x8b\x08 truncated gzip", id="truncated-gzip"),
    pytest.param(gzip.compress(b"\x00\xff binary", mtime=0), id="gzipped-binary"),
])  # fmt: skip
def test_a_damaged_cache_entry_is_fetched_again(structure_stub, tmp_path, capsys, content):
    cached = tmp_path / "cache" / "pdb" / "1A28.cif.gz"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(content)
    assert main(["fetch", "1A28"]) == 0
    assert Stub.hits == ["/download/1A28.cif.gz"]
    assert _atoms(cached) > 1000


def test_a_damaged_cache_entry_offline_names_the_file(structures_offline, tmp_path, capsys):
    cached = tmp_path / "cache" / "afdb" / "P06401.cif"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(HTML)
    assert main(["fetch", "P06401"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"the cached file {cached} is bad (an HTML page" in err
    assert cached.read_bytes() == HTML  # left for the user to look at


def test_pockets_takes_a_pdb_id(structure_stub, tmp_path, capsys, monkeypatch):
    pytest.importorskip("pyKVFinder")
    monkeypatch.chdir(tmp_path)  # no file named 1A28 here
    assert main(["pockets", "1A28", "--chain", "A", "--json", "--top", "1"]) == 0
    pockets = json.loads(capsys.readouterr().out)["pockets"]
    # The steroid's 3-keto pair (Gln725/Arg766) lines the top pocket.
    assert len(pockets) == 1 and {"A:GLN725", "A:ARG766"} <= set(pockets[0]["residues"])
    assert Stub.hits == ["/download/1A28.cif.gz"]


def test_a_file_named_like_an_id_is_read_as_the_file(structure_stub, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("1A28").write_text("not a structure\n")
    assert main(["pockets", "1A28"]) == 2
    assert "1A28" in capsys.readouterr().err
    assert Stub.hits == []
