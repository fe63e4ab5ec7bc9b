"""Tests of remyfold.io.structure_reader on real PDB/mmCIF files and small generated ones."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from remyfold.errors import InputError
from remyfold.io.residues import ATOM37_NAMES
from remyfold.io.structure_reader import ChainRecord, one_letter, read_chains


def atom_line(
    serial: int,
    name: str,
    residue: str,
    chain: str,
    number: int,
    xyz,
    icode: str = "",
    het: bool = False,
):
    """A PDB ATOM/HETATM record with standard columns."""
    record = "HETATM" if het else "ATOM  "
    x, y, z = xyz
    element = name[0]
    return (
        f"{record}{serial:5d} {name:^4s} {residue:>3s} {chain}{number:4d}{icode:1s}   "
        f"{x:8.3f}{y:8.3f}{z:8.3f}  1.00 50.00          {element:>2s}"
    )


def test_md_file_without_elements_drops_hydrogens_and_maps_charmm_names(data):
    (chain,) = read_chains(data / "adk_open.pdb")
    assert chain.chain_id == ""
    assert chain.length == 214
    assert chain.residue_numbers.tolist() == list(range(1, 215))
    assert chain.sequence.startswith("MRIILLGAPGAGKGTQAQ")
    assert "X" not in chain.sequence  # CHARMM's HSD is histidine
    assert chain.sequence.count("H") == sum(name in ("HSD", "HSE", "HSP", "HIS") for name in chain.residue_names)
    assert not any(name.startswith("H") for name in chain.atom_names)
    assert len(chain.atom_names) == 1656
    assert np.all(np.diff(chain.atom_residue) >= 0)
    assert [chain.atom_names[i] for i in chain.ca_atom] == ["CA"] * 214


def test_pdb_and_mmcif_gz_of_one_entry_agree(data):
    from_pdb = {c.chain_id: c for c in read_chains(data / "mmcif" / "3PWP.pdb.gz")}
    from_cif = {c.chain_id: c for c in read_chains(data / "mmcif" / "3PWP.cif.gz")}
    assert set(from_pdb) == set(from_cif) == set("ABCDE")
    for chain_id, pdb_chain in from_pdb.items():
        assert pdb_chain.sequence == from_cif[chain_id].sequence
        np.testing.assert_allclose(pdb_chain.ca_positions, from_cif[chain_id].ca_positions, atol=1e-3)
        assert pdb_chain.residue_labels() == from_cif[chain_id].residue_labels()


def test_ligands_and_waters_are_not_chains(data):
    chains = read_chains(data / "4E43.pdb")
    assert [c.chain_id for c in chains] == ["A", "B", "C"]
    assert [c.length for c in chains] == [99, 99, 6]
    assert all("HOH" not in c.residue_names for c in chains)


def test_model_selection_and_modified_residue(data):
    first = read_chains(data / "nmr_neopetrosiamide.pdb")[0]
    second = read_chains(data / "nmr_neopetrosiamide.pdb", model_index=2)[0]
    assert first.sequence == second.sequence == "FFCPFGCALVDCGPNRPCRDTGFMSCDC"  # SME (oxidised Met) -> M
    assert not np.allclose(first.ca_positions, second.ca_positions)
    with pytest.raises(InputError, match="24 model"):
        read_chains(data / "nmr_neopetrosiamide.pdb", model_index=25)


def test_atom37_layout_matches_atoms(data):
    chain = read_chains(data / "1hvr.pdb")[0]
    positions, mask = chain.atom37()
    assert positions.shape == (chain.length, 37, 3) and mask.shape == (chain.length, 37)
    ca = ATOM37_NAMES.index("CA")
    np.testing.assert_array_equal(positions[:, ca], chain.ca_positions)
    assert mask[:, ca].all()
    assert mask.sum() == sum(name in ATOM37_NAMES for name in chain.atom_names)


def test_insertion_codes_gzip_and_bfactors(tmp_path):
    lines = [
        atom_line(1, "N", "GLY", "B", 27, (0.0, 0.0, 0.0)),
        atom_line(2, "CA", "GLY", "B", 27, (1.4, 0.0, 0.0)),
        atom_line(3, "CA", "ALA", "B", 27, (5.0, 0.0, 0.0), icode="A"),
        atom_line(4, "H", "ALA", "B", 27, (5.5, 0.0, 0.0), icode="A"),
        atom_line(5, "CA", "MSE", "B", 28, (8.8, 0.0, 0.0)),
        atom_line(6, "O", "HOH", "W", 1, (20.0, 0.0, 0.0), het=True),
    ]
    path = tmp_path / "small.pdb.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\nEND\n").encode()))
    (chain,) = read_chains(path)
    assert isinstance(chain, ChainRecord)
    assert chain.sequence == "GAM"
    assert chain.residue_labels() == ["B:27", "B:27A", "B:28"]
    assert chain.atom_names == ("N", "CA", "CA", "CA")
    np.testing.assert_allclose(chain.atom_b_factors, 50.0)


@pytest.mark.parametrize(
    "content, message",
    [
        ("this is not a structure\n", "is not a"),
        ("data_x\n_cell.length_a 10\n", "is not a"),
        (
            atom_line(1, "O", "HOH", "W", 1, (0, 0, 0), het=True) + "\nEND\n",
            "no protein chain",
        ),
    ],
)
def test_bad_files_raise_input_error(tmp_path, content, message):
    path = tmp_path / "bad.pdb"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_chains(path)


def test_missing_file_raises_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_chains(tmp_path / "absent.cif")


def test_one_letter_codes():
    # Parents for modified residues, force-field names, X for unknown amino acids, None for non-amino acids.
    assert [one_letter(n) for n in ("ALA", "MSE", "HSE", "SEP", "UNK", "HOH", "XYZ")] == [
        "A",
        "M",
        "H",
        "S",
        "X",
        None,
        None,
    ]


def test_protein_elements_inferred_without_element_columns(data):
    """CHARMM layout (names from column 13, no element columns): CA is carbon, HG1 hydrogen, not Ca or Hg."""
    from remyfold.io.protein_structure import read_protein
    from remyfold.io.structure_files import open_structure

    structure = open_structure(data / "adk_open.pdb")
    first = structure[0][0][0]
    assert {a.name: a.element.name for a in first}["CA"] == "C"
    assert {a.name: a.element.name for a in first}["HG1"] == "H"
    protein = read_protein(data / "adk_open.pdb")
    atoms = [a for ch in protein.structure[0] for r in ch for a in r]
    assert {a.element.name for a in atoms} == {"C", "N", "O", "S"}
    assert [ch.name for ch in protein.structure[0]] == ["A"] and protein.chain_labels == {"A": "4AKE"}
    assert sum(len(ch) for ch in protein.structure[0]) == 214
