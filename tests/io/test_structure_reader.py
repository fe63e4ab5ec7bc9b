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


def with_altloc_and_segment(line: str, altloc: str = " ", segment: str = "") -> str:
    """``line`` with an alternative-location flag (column 17) and a segment id (columns 73-76)."""
    return f"{line[:16]}{altloc}{line[17:72]}{segment:<4s}{line[76:]}"


def backbone(serial: int, residue: str, chain: str, number: int, x: float, altloc=" ", segment=""):
    """N, CA, C of one residue at ``x`` (3 PDB lines)."""
    return [with_altloc_and_segment(atom_line(serial + i, name, residue, chain, number, (x + 1.2 * i, 0.0, 0.0)),
                                    altloc, segment) for i, name in enumerate(("N", "CA", "C"))]  # fmt: skip


@pytest.mark.parametrize("segment", ["", "PROA"])
def test_an_alternative_residue_of_one_number_is_dropped_not_another_number(tmp_path, segment):
    """Microheterogeneity: ALA 1 (altloc A) and GLY 1 (altloc B) are one position, the first kept; SER 2,
    all of whose atoms have altloc A too, is the next residue, not an alternative."""
    lines = (backbone(1, "ALA", "A", 1, 0.0, "A", segment) + backbone(4, "GLY", "A", 1, 0.3, "B", segment)
             + backbone(7, "SER", "A", 2, 4.0, "A", segment) + backbone(10, "THR", "A", 3, 8.0, " ", segment))  # fmt: skip
    path = tmp_path / "micro.pdb"
    path.write_text("\n".join(lines) + "\nEND\n")
    (chain,) = read_chains(path)
    assert (chain.sequence, chain.residue_numbers.tolist()) == ("AST", [1, 2, 3])


@pytest.mark.parametrize("first, second", [("PROA", "PROB"), ("PROB", "PROA")])
def test_residue_1_of_two_segments_is_not_an_alternative(tmp_path, first, second):
    """A blank chain with two segments of one residue each, both numbered 1, all atoms altloc A:
    two records, nothing dropped."""
    lines = backbone(1, "ALA", " ", 1, 0.0, "A", first) + backbone(4, "GLY", " ", 1, 9.0, "A", second)
    path = tmp_path / "segments.pdb"
    path.write_text("\n".join(lines) + "\nEND\n")
    chains = read_chains(path)
    assert [(c.chain_id, c.sequence) for c in chains] == [(first, "A"), (second, "G")]


def test_without_seqres_there_is_no_full_sequence_and_label_seq_is_minus_one(tmp_path):
    path = tmp_path / "plain.pdb"
    path.write_text("\n".join(backbone(1, "ALA", "A", 5, 0.0) + backbone(4, "GLY", "A", 6, 4.0)) + "\nEND\n")
    (chain,) = read_chains(path)
    assert chain.full_sequence == "" and chain.label_seq.tolist() == [-1, -1]


def test_an_empty_last_model_does_not_hide_the_first(tmp_path):
    path = tmp_path / "models.pdb"
    path.write_text("MODEL        1\n" + "\n".join(backbone(1, "ALA", "A", 1, 0.0)) + "\nENDMDL\nMODEL        2\nENDMDL\nEND\n")
    (chain,) = read_chains(path)
    assert chain.sequence == "A"


def test_an_mmcif_without_atoms_is_an_input_error(tmp_path):
    path = tmp_path / "empty.cif"
    path.write_text("data_x\n_cell.length_a 10\n")
    with pytest.raises(InputError, match="no atoms found"):
        read_chains(path)


def test_the_first_conformer_of_an_atom_is_kept_and_the_atoms_after_it(tmp_path):
    lines = [atom_line(1, "N", "ALA", "A", 1, (0.0, 0.0, 0.0)),
             with_altloc_and_segment(atom_line(2, "CA", "ALA", "A", 1, (1.0, 0.0, 0.0)), "A"),
             with_altloc_and_segment(atom_line(3, "CA", "ALA", "A", 1, (1.5, 0.0, 0.0)), "B"),
             atom_line(4, "C", "ALA", "A", 1, (2.0, 0.0, 0.0)), atom_line(5, "CB", "ALA", "A", 1, (1.0, 1.0, 0.0))]  # fmt: skip
    path = tmp_path / "altloc.pdb"
    path.write_text("\n".join(lines) + "\nEND\n")
    (chain,) = read_chains(path)
    assert chain.atom_names == ("N", "CA", "C", "CB")
    np.testing.assert_allclose(chain.ca_positions, [[1.0, 0.0, 0.0]])


def test_hydrogens_named_like_hd1_in_an_unknown_residue_without_elements_are_dropped(tmp_path):
    """gemmi gives ``HD1`` (name from column 13, no element column) element X, not H: the name rule drops it."""
    names = [" N  ", " CA ", " C  ", "HD1 ", "1HB ", " CB "]
    lines = [f"HETATM{i + 1:5d} {name} ZAE A   1    {i:8.3f}{0.0:8.3f}{0.0:8.3f}  1.00 10.00"
             for i, name in enumerate(names)]  # fmt: skip
    path = tmp_path / "md.pdb"
    path.write_text("\n".join(lines) + "\nEND\n")
    (chain,) = read_chains(path)
    assert (chain.sequence, chain.atom_names) == ("X", ("N", "CA", "C", "CB"))


def test_records_are_immutable(data):
    import dataclasses

    chain = read_chains(data / "1hvr.pdb")[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        chain.sequence = "X"


def test_a_residue_without_ca_is_skipped_and_the_next_one_read(tmp_path):
    no_ca = [atom_line(4 + i, name, "GLY", "A", 2, (4.0 + i, 0.0, 0.0)) for i, name in enumerate(("N", "C", "O"))]
    lines = backbone(1, "ALA", "A", 1, 0.0) + no_ca + backbone(7, "SER", "A", 3, 8.0)
    path = tmp_path / "gap.pdb"
    path.write_text("\n".join(lines) + "\nEND\n")
    (chain,) = read_chains(path)
    assert (chain.sequence, chain.residue_numbers.tolist()) == ("AS", [1, 3])


def test_model_0_does_not_exist(data):
    with pytest.raises(InputError, match="model 0 does not exist"):
        read_chains(data / "nmr_neopetrosiamide.pdb", model_index=0)


@pytest.mark.parametrize("residue, names, letter, expected", [
    ("MSE", ["N", "CA", "C", "O", "CB", "CG", "SE", "CE"], "M", ("N", "CA", "C", "O", "CB", "CG", "SD", "CE")),
    ("SEP", ["N", "CA", "C", "O", "CB", "OG", "P", "O1P"], "S", ("N", "CA", "C", "O", "CB", "OG")),
])  # fmt: skip
def test_modified_residues_take_their_parents_atom_names(tmp_path, residue, names, letter, expected):
    """Selenomethionine's SE is methionine's SD; phosphoserine's phosphate is not serine's and is left out."""
    lines = [atom_line(i + 1, name, residue, "A", 1, (1.5 * i, 0.0, 0.0), het=True) for i, name in enumerate(names)]
    path = tmp_path / "modified.pdb"
    path.write_text("\n".join(lines) + "\nEND\n")
    (chain,) = read_chains(path)
    assert chain.sequence == letter and chain.atom_names == expected


def test_full_sequence_and_label_seq_from_the_entity(data):
    """3PWP's mmCIF: each residue's letter sits at its label_seq position of the entity's full sequence."""
    for chain in read_chains(data / "mmcif" / "3PWP.cif.gz"):
        assert chain.full_sequence and set(chain.full_sequence) <= set("ACDEFGHIKLMNPQRSTVWYX")
        assert chain.label_seq.min() >= 1
        assert "".join(chain.full_sequence[i - 1] for i in chain.label_seq.tolist()) == chain.sequence


def test_a_chain_spanning_two_entities_has_no_full_sequence(tmp_path):
    """SEQRES gives chain A the full sequence AGS; an mmCIF whose chain A also holds entity 2 (WW) is ambiguous: ""."""
    import gemmi

    seqres = ["SEQRES   1 A    3  ALA GLY SER", "SEQRES   1 B    2  TRP TRP"]
    lines = (seqres + backbone(1, "ALA", "A", 1, 0.0) + backbone(4, "GLY", "A", 2, 4.0) + backbone(7, "SER", "A", 3, 8.0)
             + ["TER"] + backbone(10, "TRP", "B", 11, 12.0) + backbone(13, "TRP", "B", 12, 16.0) + ["TER"])  # fmt: skip
    path = tmp_path / "seqres.pdb"
    path.write_text("\n".join(lines) + "\nEND\n")
    assert [c.full_sequence for c in read_chains(path)] == ["AGS", "WW"]
    structure = gemmi.read_structure(str(path))
    structure.setup_entities()
    structure[0][1].name = "A"  # author chain A over two label chains (entities 1 and 2)
    merged = tmp_path / "merged.cif"
    merged.write_text(structure.make_mmcif_document().as_string())
    (chain,) = read_chains(merged)
    assert (chain.sequence, chain.full_sequence) == ("AGSWW", "")


def test_full_sequences_of_mmcif_entities_out_of_order_microheterogeneous_or_unlinked(tmp_path):
    """From one two-chain SEQRES file (AGS, WW), three mmCIF variants: entity 1 without a sequence (chain B's
    entity after it still gives WW), a microheterogeneous first position (ALA or GLY: the first listed counts),
    and atoms without label_entity_id or _struct_asym (the chains are linked to their entities by sequence)."""
    import gemmi

    seqres = ["SEQRES   1 A    3  ALA GLY SER", "SEQRES   1 B    2  TRP TRP"]
    lines = (seqres + backbone(1, "ALA", "A", 1, 0.0) + backbone(4, "GLY", "A", 2, 4.0) + backbone(7, "SER", "A", 3, 8.0)
             + ["TER"] + backbone(10, "TRP", "B", 11, 12.0) + backbone(13, "TRP", "B", 12, 16.0) + ["TER"])  # fmt: skip
    structure = gemmi.read_pdb_string("\n".join(lines) + "\nEND\n")
    structure.setup_entities()
    unsequenced, hetero = structure.clone(), structure.clone()
    unsequenced.entities[0].full_sequence = []
    hetero.entities[0].full_sequence = ["ALA,GLY", "GLY", "SER"]
    unlinked = structure.make_mmcif_document()
    block = unlinked.sole_block()
    block.find_mmcif_category("_struct_asym.").erase()
    atoms = block.find_mmcif_category("_atom_site.")
    tags, rows = list(atoms.tags), [list(row) for row in atoms]
    keep = [i for i, tag in enumerate(tags) if tag != "_atom_site.label_entity_id"]
    atoms.erase()
    loop = block.init_loop("_atom_site.", [tags[i].removeprefix("_atom_site.") for i in keep])
    for row in rows:
        loop.add_row([row[i] for i in keep])
    documents = {
        "unsequenced": (unsequenced.make_mmcif_document(), ["", "WW"]),
        "hetero": (hetero.make_mmcif_document(), ["AGS", "WW"]),
        "unlinked": (unlinked, ["AGS", "WW"]),
    }
    for name, (document, expected) in documents.items():
        path = tmp_path / f"{name}.cif"
        path.write_text(document.as_string())
        assert [(c.sequence, c.full_sequence) for c in read_chains(path)] == list(zip(["AGS", "WW"], expected)), name


def hetero(serial: int, residue: str, chain: str, number: int, x: float):
    """N, CA, C of an amino-acid-like HETATM group at ``x`` (3 PDB lines)."""
    return [atom_line(serial + i, name, residue, chain, number, (x + 1.2 * i, 5.0, 0.0), het=True)
            for i, name in enumerate(("N", "CA", "C"))]  # fmt: skip


@pytest.mark.parametrize("ter", [True, False])
def test_amino_acid_like_ligands_after_the_chain_are_not_residues(tmp_path, ter):
    """SAH (its homocysteine has N, CA, C) and a free glutamate as HETATM after the chain are ligands;
    an MSE inside the chain, HETATM too, stays a residue. With or without a TER record."""
    from remyfold.io.protein_structure import read_protein

    chain = backbone(1, "ALA", "A", 1, 0.0) + hetero(4, "MSE", "A", 2, 4.0) + backbone(7, "GLY", "A", 3, 8.0)
    chain[3:6] = [line.replace(" 5.000", " 0.000") for line in chain[3:6]]  # the MSE in line with the chain
    ligands = hetero(10, "SAH", "A", 401, 30.0) + hetero(13, "GLU", "A", 402, 40.0)
    path = tmp_path / "ligands.pdb"
    path.write_text("\n".join(chain + (["TER"] if ter else []) + ligands) + "\nEND\n")
    (record,) = read_chains(path)
    assert (record.sequence, record.residue_numbers.tolist()) == ("AMG", [1, 2, 3])
    residues = [(r.name, r.seqid.num) for r in read_protein(path).structure[0]["A"]]
    assert residues == [("ALA", 1), ("MSE", 2), ("GLY", 3)]
