"""Tests of remyfold.metrics.compare_structures and the `remyfold compare` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from remyfold.cli import main
from remyfold.errors import InputError
from remyfold.io.structure_reader import read_chains
from remyfold.metrics import RESULT_KEYS, compare_structures

REMOVED = range(40, 46)  # residue indices cut out of the edited model (a "missing loop")
TAG = 6  # His-tag residues added at the edited model's N-terminus


def atom_record(serial: int, name: str, residue: str, number: int, xyz) -> str:
    x, y, z = xyz
    return f"ATOM  {serial:5d} {name:<4s}{residue:>4s} A{number:4d}    {x:8.3f}{y:8.3f}{z:8.3f}  1.00 90.00           {name[0]}"


@pytest.fixture(scope="module")
def edited_model(data, tmp_path_factory) -> Path:
    """HIV protease chain A of 1HVR with a His tag, residues 41-46 missing, renumbered from 201."""
    (chain, _) = read_chains(data / "1hvr.pdb")
    lines, number = [], 200
    for i in range(TAG):
        number += 1
        for k, name in enumerate(("N", "CA", "C", "O")):
            lines.append(atom_record(len(lines) + 1, name, "HIS", number, (80.0 + 3.8 * i, k * 1.2, 0.0)))
    for residue in range(chain.length):
        if residue in REMOVED:
            continue
        number += 1
        for atom in np.flatnonzero(chain.atom_residue == residue):
            name, xyz = chain.atom_names[atom], chain.atom_positions[atom]
            lines.append(atom_record(len(lines) + 1, name, chain.residue_names[residue], number, xyz))
    path = tmp_path_factory.mktemp("models") / "edited.pdb"
    path.write_text("\n".join(lines + ["END", ""]))
    return path


def test_alignment_handles_tag_missing_loop_and_numbering(data, edited_model):
    result = compare_structures(edited_model, data / "1hvr.pdb", chains="A")
    aligned = 99 - len(REMOVED)
    (pair,) = result["chain_pairs"]
    assert {k: pair[k] for k in ("model", "reference", "aligned_residues", "pairing")} == {
        "model": "A", "reference": "A", "aligned_residues": aligned, "pairing": "alignment"
    }  # fmt: skip
    assert pair["pairing_reason"].startswith("sequence alignment (BLOSUM62), 100% identical")
    assert result["aligned_residues"] == aligned
    assert result["sequence_identity"] == 1.0
    assert result["reference_length"] == 99
    # Aligned residues sit exactly on the reference, so each scores 1 and the rest 0.
    assert result["tm_score"] == pytest.approx(aligned / 99)
    assert result["gdt_ts"] == pytest.approx(aligned / 99) and result["gdt_ha"] == pytest.approx(aligned / 99)
    assert result["rmsd"] == pytest.approx(0.0, abs=1e-3)
    per_residue = result["per_residue_lddt"]
    assert len(per_residue) == len(result["reference_residues"]) == 99
    assert all(per_residue[i] == 0.0 for i in REMOVED)
    assert min(per_residue[i] for i in range(99) if i not in REMOVED) > 0.5
    assert result["reference_residues"][40] == "A:41"
    assert 0.5 < result["lddt"] < 1.0 and 0.5 < result["lddt_ca"] < 1.0


def test_missing_reference_chain_counts_unaligned_unless_restricted(data, edited_model):
    whole = compare_structures(edited_model, data / "1hvr.pdb")
    restricted = compare_structures(edited_model, data / "1hvr.pdb", chains="A")
    assert whole["missing_chains"] == ["B"] and restricted["missing_chains"] == []
    assert whole["reference_length"] == 198 and restricted["reference_length"] == 99
    assert whole["aligned_residues"] == restricted["aligned_residues"] == 99 - len(REMOVED)
    assert whole["tm_score"] == pytest.approx(restricted["tm_score"] * 99 / 198)
    assert len(whole["per_residue_lddt"]) == 198 and whole["per_residue_lddt"][99:] == [0.0] * 99
    assert len(whole["warnings"]) == 1 and restricted["warnings"] == []


def test_result_object_is_strict_json_with_fractions(data):
    result = compare_structures(data / "4E43.pdb", data / "1hvr.pdb")
    assert list(result)[: len(RESULT_KEYS)] == list(RESULT_KEYS)
    json.dumps(result, allow_nan=False)
    for key in ("tm_score", "gdt_ts", "gdt_ha", "lddt", "lddt_ca", "sequence_identity"):
        assert 0.0 <= result[key] <= 1.0
    assert [pair["reference"] for pair in result["chain_pairs"]] == [
        "A",
        "B",
    ]  # C is not in the reference
    assert all(value is None or 0.0 <= value <= 1.0 for value in result["per_residue_lddt"])


def test_pdb_and_mmcif_of_one_complex_score_perfectly(data):
    result = compare_structures(data / "mmcif" / "3PWP.pdb.gz", data / "mmcif" / "3PWP.cif.gz")
    assert len(result["chain_pairs"]) == 5
    assert result["tm_score"] == pytest.approx(1.0)
    assert result["lddt"] == pytest.approx(1.0) and result["lddt_ca"] == pytest.approx(1.0)
    assert result["rmsd"] == pytest.approx(0.0, abs=1e-3)


def test_chain_map_pairs_chains_of_different_ids(data):
    swapped = compare_structures(data / "1a28.pdb.gz", data / "1a28.pdb.gz", chain_map={"B": "A"})
    assert swapped["chain_pairs"][0]["model"] == "B" and swapped["reference_length"] == 251
    assert 0.9 < swapped["tm_score"] < 1.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"chains": "Z"}, "no protein chain 'Z'"),
        ({"chain_map": "A:Z"}, "no protein chain 'Z'"),
        ({"chain_map": "A"}, "MODEL:REFERENCE"),
        ({"chains": "A", "chain_map": "A:A"}, "either"),
    ],
)
def test_chain_options_errors(data, kwargs, message):
    with pytest.raises(InputError, match=message):
        compare_structures(data / "4E43.pdb", data / "1hvr.pdb", **kwargs)


def test_unrelated_chains_do_not_align(data):
    with pytest.raises(InputError, match="do not align"):
        compare_structures(data / "mmcif" / "1YJP.cif", data / "1hvr.pdb", chains="A")


# --- the command line ----------------------------------------------------------------------------


def test_cli_json_single_model(data, capsys):
    path = str(data / "nmr_neopetrosiamide.pdb")
    assert main(["compare", path, path, "--model", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert isinstance(result, dict)
    assert list(result)[: len(RESULT_KEYS)] == list(RESULT_KEYS)
    assert result["model_index"] == 2
    assert 0.0 < result["tm_score"] < 1.0


def test_cli_several_models_give_list_and_sorted_table(data, edited_model, capsys):
    files = [str(edited_model), str(data / "4E43.pdb"), str(data / "1hvr.pdb")]
    assert main(["compare", *files, "--chain", "A", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in results] == files[:2]
    assert main(["compare", *files, "--chain", "A"]) == 0
    table = capsys.readouterr().out.splitlines()
    rows = [line for line in table if line.startswith((files[0], files[1]))]
    by_tm = sorted(results, key=lambda r: -r["tm_score"])
    assert [row.split()[0] for row in rows] == [r["model"] for r in by_tm]
    assert rows[0].split()[1] == f"{by_tm[0]['tm_score']:.4f}"


@pytest.mark.parametrize(
    "make_args",
    [
        lambda d, tmp: [str(tmp / "absent.pdb"), str(d / "1hvr.pdb")],
        lambda d, tmp: [str(d / "mmcif" / "1YJP.cif"), str(d / "1hvr.pdb")],
        lambda d, tmp: [str(d / "4E43.pdb"), str(d / "1hvr.pdb"), "--chain", "Q"],
        lambda d, tmp: [str(d / "1hvr.pdb")],
        lambda d, tmp: [str(d / "1hvr.pdb"), str(d / "1hvr.pdb"), "--model", "3"],
    ],
    ids=["missing-file", "no-alignment", "unknown-chain", "one-file", "no-such-model"],
)
def test_cli_bad_input_is_one_line_error(data, tmp_path, capsys, make_args):
    assert main(["compare", *make_args(data, tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert "Traceback" not in captured.err


def test_cli_rejects_chain_and_chain_map_together(data):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "compare",
                str(data / "4E43.pdb"),
                str(data / "1hvr.pdb"),
                "--chain",
                "A",
                "--chain-map",
                "A:A",
            ]
        )
    assert exit_info.value.code == 2


def test_a_model_of_ca_atoms_only_scores_ca_lddt_and_says_so(data):
    """1HVR chain A against itself with only the model's CA atoms: lDDT is Cα lDDT, and the result says so."""
    import dataclasses

    from remyfold.metrics.compare import compare_chains

    (reference, *_) = read_chains(data / "1hvr.pdb")
    ca = reference.ca_atom
    model = dataclasses.replace(reference, atom_names=("CA",) * len(ca), atom_residue=reference.atom_residue[ca],
                                atom_positions=reference.atom_positions[ca], atom_b_factors=reference.atom_b_factors[ca],
                                ca_atom=np.arange(len(ca)))  # fmt: skip
    result = compare_chains([model], [reference])
    assert result["lddt_atoms"] == "CA" and result["lddt"] == result["lddt_ca"] == 1.0
    assert any("Cα atoms only" in warning for warning in result["warnings"])
    full = compare_chains([reference], [reference])
    assert full["lddt_atoms"] == "all" and not any("Cα atoms only" in warning for warning in full["warnings"])
    with pytest.raises(TypeError):  # options only by name
        compare_chains([reference], [reference], "A")


def test_correspondences_are_immutable(data):
    import dataclasses

    from remyfold.metrics.alignment import align_chains
    from remyfold.metrics.compare import build_correspondence

    (chain, *_) = read_chains(data / "1hvr.pdb")
    layout = build_correspondence([align_chains(chain, chain)])
    assert layout.aligned.tolist() == list(range(chain.length)) and len(layout.reference_ca) == chain.length
    with pytest.raises(dataclasses.FrozenInstanceError):
        layout.aligned = None


def test_a_two_model_reference_says_which_model_was_used(data, tmp_path):
    import gemmi

    structure = gemmi.read_structure(str(data / "1hvr.pdb"))
    structure.add_model(structure[0])
    structure.renumber_models()
    reference = tmp_path / "two_models.pdb"
    structure.write_pdb(str(reference))
    result = compare_structures(data / "1hvr.pdb", reference)
    assert result["reference_models"] == 2 and result["tm_score"] == pytest.approx(1.0)
    assert "the reference has 2 models; model 1 was used" in result["warnings"]
    assert not any("models" in warning for warning in compare_structures(data / "1hvr.pdb", data / "1hvr.pdb")["warnings"])
    with pytest.raises(TypeError):  # options only by name
        compare_structures(data / "1hvr.pdb", reference, 1)


def test_per_residue_values_have_4_decimals_and_none_where_undefined():
    from remyfold.metrics.compare import _json_list

    assert _json_list(np.array([0.123456, np.nan, 1.0])) == [0.1235, None, 1.0]
