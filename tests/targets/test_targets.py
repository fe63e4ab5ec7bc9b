"""The target catalog: facts consistent (InChIKeys recomputed), CLI, sequences shipped or fetched + cached."""

from __future__ import annotations

import http.server
import socket
import threading
from pathlib import Path

import pytest

from remyfold.cli import main
from remyfold.targets.catalog import load_catalog
from remyfold.targets.sequences import parse_uniprot_fasta, shipped_sequences

EXAMPLES = Path(__file__).parents[2] / "examples" / "remyelination_targets.fasta"
ISSUE_TARGETS = {
    "RXRG": "P48443", "RXRA": "P19793", "CHRM1": "P11229", "PRKAA1": "Q13131", "GPR17": "Q13304",
    "LINGO1": "Q96FE5", "OLIG2": "Q13516", "THRA": "P10827", "THRB": "P10828", "PLP1": "P60201",
    "MBP": "P02686", "MOG": "Q16653", "MAG": "P20916", "EBP": None, "CYP51A1": "Q16850", "TM7SF2": None,
}
FAKE_SEQ = "MSTNPKPQRKTKRNTNRRPQDVKFPGG"


def test_catalog_has_the_targets_and_drugs():
    catalog = load_catalog()
    assert {t.id: t.accession for t in catalog.targets} == ISSUE_TARGETS
    assert {"bexarotene", "clemastine", "metformin"} <= {d.name for d in catalog.drugs}
    for target in catalog.targets:
        assert target.sources and all(s.startswith("http") for s in target.sources)
        for drug in target.drugs:
            assert catalog.drug(drug) is not None
        for structure in target.structures:
            assert len(structure.pdb) == 4 and structure.source.startswith("http")


def test_drug_inchikeys_match_their_smiles():
    Chem = pytest.importorskip("rdkit.Chem")
    for drug in load_catalog().drugs:
        assert Chem.MolToInchiKey(Chem.MolFromSmiles(drug.smiles)) == drug.inchikey, drug.name
        for target in drug.targets:
            assert load_catalog().target(target) is not None


def test_shipped_sequences_equal_the_examples():
    examples = {acc: seq for acc, _h, seq in parse_uniprot_fasta(
        EXAMPLES.read_text().replace(">PLP1 ", ">").replace(">MAG ", ">").replace(">GPR17 ", ">"))}
    assert shipped_sequences() == examples


def test_cli_list_show_and_errors(capsys):
    assert main(["targets"]) == 0
    out = capsys.readouterr().out
    assert "RXRG" in out and "P11229" in out
    assert main(["targets", "show", "chrm1"]) == 0
    out = capsys.readouterr().out
    assert "clemastine" in out and "YNNUSGIPVFPVBX-NHCUHLMSSA-N" in out and "5CXV" in out
    assert main(["targets", "show", "NOPE"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown target 'NOPE'" in err


class _UniProt(http.server.BaseHTTPRequestHandler):
    """Answers /uniprotkb/ACC.fasta in UniProt's FASTA format; counts requests."""

    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server API)
        self.hits.append(self.path)
        acc = self.path.rsplit("/", 1)[-1].removesuffix(".fasta")
        body = f">sp|{acc}|TEST_HUMAN Test protein OS=Homo sapiens OX=9606 GN=TEST PE=1 SV=1\n{FAKE_SEQ}\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def uniprot_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _UniProt)
    server.timeout = 5
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _UniProt.hits = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fasta_fetches_missing_sequences_once_and_caches(uniprot_server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REMYFOLD_UNIPROT_URL", uniprot_server)
    monkeypatch.setenv("REMYFOLD_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "t.fasta"
    assert main(["targets", "fasta", "RXRG", "PLP1", "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith(">RXRG P48443 ") and FAKE_SEQ in text and ">PLP1 P60201 " in text
    assert _UniProt.hits == ["/uniprotkb/P48443.fasta"]  # PLP1 is shipped
    assert (tmp_path / "cache" / "uniprot" / "P48443.fasta").exists()
    assert main(["targets", "fasta", "RXRG"]) == 0
    assert FAKE_SEQ in capsys.readouterr().out
    assert len(_UniProt.hits) == 1  # second time from the cache


def test_fasta_offline_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("REMYFOLD_UNIPROT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("REMYFOLD_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "t.fasta"
    assert main(["targets", "fasta", "CHRM1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot fetch CHRM1 (P11229)" in err
    assert not out.exists()


def test_fasta_is_ready_for_predict(tmp_path):
    from remyfold.sequence import read_fasta

    out = tmp_path / "shipped.fasta"
    assert main(["targets", "fasta", "PLP1", "GPR17", "MAG", "--out", str(out)]) == 0
    records = read_fasta([out])
    assert [r.id for r in records] == ["PLP1", "GPR17", "MAG"]
    assert [len("".join(r.chains)) for r in records] == [277, 367, 626]


@pytest.mark.parametrize("content", [
    b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary",  # binary
    b">sp|P48443|RXRG_HUMAN Retinoic acid receptor RXR-gamma\n",  # truncated: no sequence
    b">sp|P19793|RXRA_HUMAN another record\nMDTKHFLPL\n",  # another accession's record
])  # fmt: skip
def test_a_bad_cache_entry_is_fetched_again(uniprot_server, tmp_path, monkeypatch, capsys, content):
    cached = tmp_path / "cache" / "uniprot" / "P48443.fasta"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(content)
    monkeypatch.setenv("REMYFOLD_UNIPROT_URL", uniprot_server)
    monkeypatch.setenv("REMYFOLD_CACHE", str(tmp_path / "cache"))
    assert main(["targets", "fasta", "RXRG"]) == 0
    assert FAKE_SEQ in capsys.readouterr().out
    assert _UniProt.hits == ["/uniprotkb/P48443.fasta"]
    assert FAKE_SEQ in cached.read_text()  # the entry was replaced


def test_a_bad_cache_entry_offline_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys):
    cached = tmp_path / "cache" / "uniprot" / "P48443.fasta"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"\x00\xff\xfe\x01 not text")
    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("REMYFOLD_UNIPROT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("REMYFOLD_CACHE", str(tmp_path / "cache"))
    assert main(["targets", "fasta", "RXRG"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert str(cached) in captured.err and "bad" in captured.err
    assert cached.read_bytes() == b"\x00\xff\xfe\x01 not text"  # left for the user to look at
