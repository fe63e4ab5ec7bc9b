"""How `remyfold compare` pairs residues: the BLOSUM62 matrix, holes of known size (islands),
renamed copies, insertion codes, the pairing choice, and the smaller input cases of issue 18."""

from __future__ import annotations

import gzip
import subprocess
import sys

import gemmi
import numpy as np
import pytest

from remyfold.errors import InputError
from remyfold.metrics import compare_structures
from remyfold.metrics import structure_pairing
from remyfold.metrics.alignment import missing_residues
from remyfold.io.structure_reader import read_chains
from remyfold.metrics.sequence_alignment import ALPHABET, substitution_matrix
from structure_data import require_in_ci

AMINO_ACIDS = "ARNDCQEGHILKMFPSTWYV"


def blosum(a: str, b: str) -> float:
    return substitution_matrix()[ALPHABET.index(a), ALPHABET.index(b)]


def test_blosum62_values():
    # NCBI BLOSUM62: a +1/-4 identity matrix (what gemmi gives for one-letter codes) fails here.
    assert blosum("W", "W") == 11 and blosum("I", "V") == 3 and blosum("A", "A") == 4
    assert blosum("C", "C") == 9 and blosum("W", "G") == -2 and blosum("X", "X") == -1


def test_blosum62_agrees_with_gemmi_three_letter_table():
    scoring = gemmi.AlignmentScoring("b")
    for a in AMINO_ACIDS:
        for b in AMINO_ACIDS:
            names = ([gemmi.expand_one_letter(x, gemmi.ResidueKind.AA)] for x in (a, b))
            assert blosum(a, b) == gemmi.align_string_sequences(*names, [], scoring).score, (a, b)


def write_chain(structure: gemmi.Structure, path, keep, offset: int = 0, rename: dict | None = None,
                icodes: dict | None = None) -> None:
    """Write chain A of ``structure`` keeping residue indices ``keep``, numbers shifted by ``offset``,
    names replaced per ``rename`` (index -> name) and insertion codes per ``icodes`` (index -> (num, code))."""
    out = gemmi.Structure()
    model = gemmi.Model("1")
    chain = gemmi.Chain("A")
    for index, residue in enumerate(structure[0][0]):
        if index not in keep:
            continue
        copy = gemmi.Residue()
        copy.name = (rename or {}).get(index, residue.name)
        number, code = (icodes or {}).get(index, (residue.seqid.num + offset, " "))
        copy.seqid = gemmi.SeqId(number, code)
        for atom in residue:
            copy.add_atom(atom)
        chain.add_residue(copy)
    model.add_chain(chain)
    out.add_model(model)
    out.setup_entities()
    out.write_pdb(str(path))


@pytest.fixture(scope="module")
def adk(data):
    structure = gemmi.read_structure(str(data / "adk_closed.pdb"))
    structure.setup_entities()
    return structure


def sequence_of(structure) -> str:
    return gemmi.one_letter_code([residue.name for residue in structure[0][0]])


def test_island_between_two_holes_stays_in_place(adk, data, tmp_path):
    sequence = sequence_of(adk)
    n = len(sequence)
    # Islands: residue j between holes j-1 and j+1 where j+1 has j's letter (it could slide there).
    islands = [j for j in range(1, n - 2) if sequence[j] == sequence[j + 1]][:4]
    removed = {k for j in islands for k in (j - 1, j + 1)}
    path = tmp_path / "islands.pdb"
    write_chain(adk, path, set(range(n)) - removed, offset=1000)
    result = compare_structures(path, data / "adk_closed.pdb")
    assert result["chain_pairs"][0]["pairing"] == "alignment"
    assert result["aligned_residues"] == n - len(removed)
    assert result["rmsd"] == pytest.approx(0.0, abs=1e-6)
    assert result["tm_score"] == pytest.approx((n - len(removed)) / n, abs=1e-9)


def test_one_of_each_identical_neighbour_pair_deleted(adk, data, tmp_path):
    sequence = sequence_of(adk)
    n = len(sequence)
    removed = {j + 1 for j in range(n - 1) if sequence[j] == sequence[j + 1]}
    removed = {j for j in removed if j - 1 not in removed}  # one of each pair (runs: every other one)
    path = tmp_path / "deleted.pdb"
    write_chain(adk, path, set(range(n)) - removed, offset=1000)
    (model,) = read_chains(path)
    assert int(missing_residues(model).sum()) == len(removed)
    result = compare_structures(path, data / "adk_closed.pdb")
    assert result["aligned_residues"] == n - len(removed) and result["sequence_identity"] == 1.0
    assert result["rmsd"] == pytest.approx(0.0, abs=1e-6)


def test_renamed_copy_pairs_each_residue_with_itself(adk, data, tmp_path):
    # 59 % renamed at random (about 45 % identity): the automatic choice pairs by structure.
    if not structure_pairing.structure_available():
        require_in_ci("tmtools (pip install 'remyfold[structure]')")
    sequence = sequence_of(adk)
    n = len(sequence)
    rng = np.random.default_rng(18)
    renamed = rng.choice(n, size=int(0.59 * n), replace=False).tolist()
    names = {i: gemmi.expand_one_letter(AMINO_ACIDS[rng.integers(20)], gemmi.ResidueKind.AA) for i in renamed}
    path = tmp_path / "renamed.pdb"
    write_chain(adk, path, set(range(n)), offset=1000, rename=names)
    result = compare_structures(path, data / "adk_closed.pdb")
    assert result["aligned_residues"] == n
    assert result["tm_score"] == pytest.approx(1.0) and result["rmsd"] == pytest.approx(0.0, abs=1e-6)


def test_numbering_pairs_by_insertion_code(adk, data, tmp_path):
    n = len(sequence_of(adk))
    # Residues 51-60 become 50A-50J in both copies; the model lacks 50C and 50D (indices 52, 53)
    # and has 50E renamed, so only the (number, insertion code) keys pair it right.
    icodes = {49 + k: (50, "ABCDEFGHIJ"[k - 1]) for k in range(1, 11)}
    icodes.update({i: (i + 1 - 10, " ") for i in range(60, n)})
    reference, model = tmp_path / "reference.pdb", tmp_path / "model.pdb"
    write_chain(adk, reference, set(range(n)), icodes=icodes)
    write_chain(adk, model, set(range(n)) - {52, 53}, icodes=icodes, rename={54: "TRP"})
    result = compare_structures(model, reference)
    assert result["chain_pairs"][0]["pairing"] == "numbering"
    assert result["aligned_residues"] == n - 2
    assert result["rmsd"] == pytest.approx(0.0, abs=1e-6)
    assert result["sequence_identity"] == pytest.approx((n - 3) / (n - 2))


def test_forced_numbering_that_does_not_fit_is_an_error(adk, data, tmp_path):
    path = tmp_path / "shifted.pdb"
    write_chain(adk, path, set(range(len(sequence_of(adk)))), offset=1000)
    with pytest.raises(InputError, match="cannot be paired by residue numbering"):
        compare_structures(path, data / "adk_closed.pdb", pairing="numbering")


def test_structure_pairing_without_tmtools_names_the_extra(data, monkeypatch):
    monkeypatch.setattr(structure_pairing, "structure_available", lambda: False)
    with pytest.raises(InputError, match=r"remyfold\[structure\]"):
        compare_structures(data / "adk_open.pdb", data / "adk_closed.pdb", pairing="structure")


def test_unrelated_chains_say_why_without_a_false_identity(data):
    with pytest.raises(InputError, match="do not align") as error:
        compare_structures(data / "mmcif" / "1YJP.cif", data / "1hvr.pdb", chains="A")
    assert "100% identical" not in str(error.value) and "(0 aligned" not in str(error.value)


def test_ca_only_model_gets_ca_lddt(adk, data, tmp_path):
    structure = gemmi.read_structure(str(data / "adk_open.pdb"))
    structure.remove_hydrogens()
    for residue in structure[0][0]:
        for index in reversed(range(len(residue))):
            if residue[index].name != "CA":
                del residue[index]
    path = tmp_path / "ca.pdb"
    structure.write_pdb(str(path))
    coarse = compare_structures(path, data / "adk_closed.pdb")
    full = compare_structures(data / "adk_open.pdb", data / "adk_closed.pdb")
    assert coarse["lddt_atoms"] == "CA" and full["lddt_atoms"] == "all"
    assert coarse["lddt"] == coarse["lddt_ca"] == pytest.approx(full["lddt_ca"])
    assert coarse["warnings"] and not full["warnings"]


def test_multi_model_reference_says_which_model(data):
    result = compare_structures(
        data / "nmr_neopetrosiamide.pdb", data / "nmr_neopetrosiamide.pdb", model_index=2, reference_model_index=5
    )
    assert result["reference_model_index"] == 5 and result["reference_models"] > 5
    assert len(result["warnings"]) == 1


def test_mmcif_without_residue_numbers_is_a_one_line_error(data, tmp_path):
    document = gemmi.cif.read_string(gzip.open(data / "mmcif" / "5PTI.cif.gz", "rt").read())
    block = document.sole_block()
    for tag in ("_atom_site.label_seq_id", "_atom_site.auth_seq_id"):
        column = block.find_values(tag)
        for i in range(len(column)):
            column[i] = "."
    path = tmp_path / "numberless.cif"
    document.write_file(str(path))
    with pytest.raises(InputError, match="no residue number"):
        read_chains(path)


def test_closed_pipe_ends_quietly(data):
    files = [str(data / "adk_open.pdb")] * 12 + [str(data / "adk_closed.pdb")]
    command = [sys.executable, "-m", "remyfold.cli", "compare", *files, "--json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.read(10)
    process.stdout.close()  # the reader goes away long before the ~500 kB of JSON are written
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert stderr == ""


def test_cli_says_which_pairing_and_why(data, capsys):
    import json

    from remyfold.cli import main

    if not structure_pairing.structure_available():
        require_in_ci("tmtools (pip install 'remyfold[structure]')")
    model, reference = data / "mmcif" / "1BD2.cif.gz", data / "mmcif" / "3KPR.pdb.gz"
    assert main(["compare", str(model), str(reference), "--chain-map", "D:E", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["pairing"] == ["structure"]
    assert result["chain_pairs"][0]["pairing_reason"].startswith("structure alignment (TM-align)")
    assert main(["compare", str(model), str(reference), "--chain-map", "D:E", "--pairing", "sequence"]) == 2
    assert main(["compare", str(model), str(reference), "--chain-map", "D:D", "--pairing", "sequence", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pairing"] == ["alignment"]
