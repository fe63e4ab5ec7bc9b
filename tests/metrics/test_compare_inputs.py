"""`remyfold compare` on the files people have: segments, solvent, old PDB layout, compression,
unsupported formats, modified and unknown residues, residue pairing across numbering gaps,
and a start-up that never imports torch."""

from __future__ import annotations

import bz2
import gzip
import dataclasses
import itertools
import json
import lzma
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from remyfold.cli import main
from remyfold.errors import InputError
from remyfold.io.structure_reader import read_chains
from remyfold.metrics import compare_structures
from remyfold.metrics.alignment import align_chains
from structure_data import package_dir

CHARMM = "pdb1tw7_step3_charmm2namd.pdb"  # python3-prody-tests: segments PROA, PROB, blank chain ids


def pdb_lines(path: Path) -> list[str]:
    """The lines of a (plain) PDB file."""
    return path.read_text().splitlines()


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_perfect(result: dict, residues: int) -> None:
    """A comparison of a structure with itself: every residue paired, all scores perfect."""
    assert result["aligned_residues"] == result["reference_length"] == residues
    assert result["tm_score"] == pytest.approx(1.0)
    assert result["rmsd"] == pytest.approx(0.0, abs=1e-3)
    assert result["lddt"] == pytest.approx(1.0)
    assert result["sequence_identity"] == 1.0


# --- chains: segments, solvent, unknown residues, duplicates ---------------------------------------


def test_segment_ids_tell_chains_apart_and_nothing_is_lost():
    path = package_dir("prody-tests") / CHARMM
    chains = read_chains(path)
    assert [(c.chain_id, c.length) for c in chains] == [("PROA", 99), ("PROB", 99)]
    text = path.read_text()
    ca_atoms = sum(1 for line in text.splitlines() if line.startswith("ATOM") and line[12:16] == " CA ")
    assert sum(c.length for c in chains) == ca_atoms == 198  # every protein residue is read
    result = compare_structures(path, path)
    assert_perfect(result, 198)
    swapped = compare_structures(path, path, chain_map="PROA:PROB")
    assert swapped["chain_pairs"][0]["pairing"] == "numbering" and 0.5 < swapped["tm_score"] < 1.0


@pytest.mark.parametrize("name, residues", [("cobrotoxin.pdb", 62), ("adk_oplsaa.pdb", 214)])
def test_water_and_ions_in_the_protein_chain_are_left_out(data, name, residues):
    # MD frames: protein, water (SOL) and ions all with a blank chain id.
    (chain,) = read_chains(data / name)
    assert chain.length == residues
    assert "SOL" not in chain.residue_names
    assert_perfect(compare_structures(data / name, data / name), residues)


def test_md_frame_with_solvent_scores_against_the_dry_structure(data):
    # OPLS-AA frame in water against the CHARMM structure of the same protein: paired by numbering.
    result = compare_structures(data / "adk_oplsaa.pdb", data / "adk_closed.pdb")
    assert result["aligned_residues"] == 214
    assert result["chain_pairs"][0]["pairing"] == "numbering"
    assert result["sequence_identity"] == 1.0


def test_unknown_residue_chain_pairs_like_any_other(data, tmp_path):
    # Chain A of 1HVR with every residue renamed UNK (its modified CSO 67 included).
    lines = [
        line
        for line in pdb_lines(data / "1hvr.pdb")
        if line.startswith(("ATOM", "HETATM")) and line[21] == "A" and line[17:20] != "XK2"
    ]
    unknown = write(tmp_path / "unk.pdb", [line[:17] + "UNK" + line[20:] for line in lines] + ["END"])
    (chain,) = read_chains(unknown)
    assert chain.sequence == "X" * 99
    for model, reference in ((unknown, data / "1hvr.pdb"), (unknown, unknown), (data / "1hvr.pdb", unknown)):
        result = compare_structures(model, reference, chains="A")
        assert result["aligned_residues"] == 99
        assert result["chain_pairs"][0]["pairing"] == "numbering"
        assert result["tm_score"] == pytest.approx(1.0)


def test_two_chains_of_one_name_are_an_error_not_a_loss(data, tmp_path):
    # Chains A and B of 1HVR as segments "A" and "B" of a blank chain, plus chain A itself:
    # two records would be named "A", so reading fails instead of merging or dropping one.
    atoms = [line for line in pdb_lines(data / "1hvr.pdb") if line.startswith("ATOM")]
    segments = [line[:21] + " " + line[22:72].ljust(50) + f"{line[21]:<4s}" for line in atoms]
    chain_a = [line for line in atoms if line[21] == "A"]
    path = write(tmp_path / "clash.pdb", segments + ["TER"] + chain_a + ["END"])
    with pytest.raises(InputError, match="several protein chains named 'A'"):
        read_chains(path)


# --- file layouts and formats ----------------------------------------------------------------------


def test_old_pdb_layout_with_id_code_and_serial_in_columns_73_to_80(data, tmp_path):
    lines = [line for line in pdb_lines(data / "1hvr.pdb") if line.startswith(("ATOM", "HETATM", "TER", "END"))]
    old = [
        f"{line[:72].ljust(72)}1HVR{k % 10000:4d}" if line.startswith(("ATOM", "HETATM")) else line
        for k, line in enumerate(lines, start=100)
    ]
    path = write(tmp_path / "old_layout.pdb", old)
    assert_perfect(compare_structures(path, data / "1hvr.pdb"), 198)


def test_pymol_old_layout_file_is_read():
    path = package_dir("pymol-data") / "data" / "tut" / "1hpv.pdb"
    assert [(c.chain_id, c.length) for c in read_chains(path)] == [("A", 99), ("B", 99)]


@pytest.mark.parametrize("compress, suffix", [(bz2.compress, ".pdb.bz2"), (lzma.compress, ".pdb.xz")])
def test_bzip2_and_xz_files_are_read(data, tmp_path, compress, suffix):
    path = tmp_path / f"1hvr{suffix}"
    path.write_bytes(compress((data / "1hvr.pdb").read_bytes()))
    assert_perfect(compare_structures(path, data / "1hvr.pdb"), 198)


def test_registry_bz2_file(data):
    chains = read_chains(data / "6msm.pdb.bz2")
    assert sum(c.length for c in chains) == 1198


@pytest.mark.parametrize("name", ["adk_oplsaa.gro", "1ubq-less-optional.mmtf", "5KIH.mmtf.gz", "adk_open.pqr"])
def test_unsupported_formats_say_so_in_one_line(data, capsys, name):
    assert main(["compare", str(data / name), str(data / "adk_closed.pdb")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "unsupported format" in err and "supported: PDB" in err and "mmCIF" in err


def test_corrupt_compressed_file_is_one_line_error(data, capsys):
    # An MDAnalysis test file named .gz that is not gzip.
    assert main(["compare", str(data / "cryst_then_model.pdb.gz"), str(data / "adk_closed.pdb")]) == 2
    assert "not a readable .gz file" in capsys.readouterr().err


# --- modified residues ----------------------------------------------------------------------------


def test_selenomethionine_compares_as_methionine(data, tmp_path):
    # 1HVR's methionines written as MSE (HETATM, SD -> SE) against the original: SE pairs with SD.
    lines = []
    for line in pdb_lines(data / "1hvr.pdb"):
        if line.startswith("ATOM") and line[17:20] == "MET":
            line = "HETATM" + line[6:17] + "MSE" + line[20:]
            if line[12:16] == " SD ":
                line = line[:12] + "SE  " + line[16:76] + "SE" + line[78:]
        lines.append(line)
    path = write(tmp_path / "mse.pdb", lines)
    chain = read_chains(path)[0]
    assert "MSE" in chain.residue_names and "SE" not in chain.atom_names
    assert chain.sequence == read_chains(data / "1hvr.pdb")[0].sequence
    for model, reference in ((path, data / "1hvr.pdb"), (data / "1hvr.pdb", path)):
        result = compare_structures(model, reference)
        assert_perfect(result, 198)
        assert result["lddt"] == pytest.approx(1.0)


# --- residue pairing -------------------------------------------------------------------------------


def prody_chains(name: str):
    return read_chains(package_dir("prody-tests") / name)


@pytest.mark.parametrize("name", ["pdb1r19_dssp.pdb", "pdb3o21.pdb"])
def test_break_aware_alignment_pairs_as_the_numbering_does(name):
    # Copies of one protein with different missing residues. Renumbering one copy 1..N hides the
    # numbering, so residues are paired by alignment; chain breaks must put every gap where it belongs.
    chains = prody_chains(name)
    for model, reference in itertools.permutations(chains, 2):
        truth = align_chains(model, reference)
        assert truth.method == "numbering" and truth.identical == truth.aligned
        renumbered = dataclasses.replace(model, residue_numbers=np.arange(1, model.length + 1))
        aligned = align_chains(renumbered, reference)
        assert aligned.method == "alignment"
        np.testing.assert_array_equal(aligned.model_residues, truth.model_residues)
        np.testing.assert_array_equal(aligned.reference_residues, truth.reference_residues)


def test_full_sequence_positions_pair_when_author_numbering_differs(data):
    # Same entry as PDB (author numbers) and mmCIF; shift the mmCIF chain's author numbers by 1000:
    # label_seq_id (the position in the entity sequence) still pairs every residue.
    reference = {c.chain_id: c for c in read_chains(data / "mmcif" / "3PWP.cif.gz")}["A"]
    shifted = dataclasses.replace(reference, residue_numbers=reference.residue_numbers + 1000)
    result = align_chains(shifted, reference)
    assert result.method == "full sequence" and result.aligned == reference.length


# --- the command line ------------------------------------------------------------------------------


def test_help_names_the_arguments_as_the_usage_line_does(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    out = capsys.readouterr().out
    assert "FILE" not in out
    assert "MODEL [MODEL ...] REFERENCE" in out.split("positional arguments:")[1]


def test_compare_never_imports_torch(data):
    script = (
        "import sys, io, contextlib\n"
        "from remyfold.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main(['compare', {str(data / 'A6PA6_alpha.pdb')!r}, {str(data / 'A6PA6_alpha.pdb')!r}, '--json'])\n"
        "print(code, 'torch' in sys.modules, 'biotite' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "False", "False"]


def test_cli_json_reports_pairing(data, capsys):
    assert main(["compare", str(data / "4E43.pdb"), str(data / "1hvr.pdb"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [pair["pairing"] for pair in result["chain_pairs"]] == ["numbering", "numbering"]


def test_format_of_an_unknown_name_is_read_from_the_content(data, tmp_path):
    pdb = tmp_path / "model.txt"
    pdb.write_bytes((data / "1hvr.pdb").read_bytes())
    cif = tmp_path / "reference.dat"
    cif.write_bytes(gzip.decompress((data / "mmcif" / "3PWP.cif.gz").read_bytes()))
    assert_perfect(compare_structures(pdb, data / "1hvr.pdb"), 198)
    assert [c.chain_id for c in read_chains(cif)] == list("ABCDE")
    binary = tmp_path / "model.bin"
    binary.write_bytes(b"\x00\x01" * 100)
    with pytest.raises(InputError, match="binary file"):
        read_chains(binary)
