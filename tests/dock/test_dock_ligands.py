"""``--ligand`` values: every SDF molecule, NAME=SMILES, salts (what was dropped), what Vina cannot dock, the catalog."""

from __future__ import annotations

import pytest

pytest.importorskip("rdkit")
pytest.importorskip("meeko")

from rdkit import Chem  # noqa: E402
from rdkit.Chem import AllChem  # noqa: E402

from remyfold.dock.errors import DockError  # noqa: E402
from remyfold.dock.ligand import ligand_3d, ligand_pdbqt, resolve_ligand, resolve_ligands  # noqa: E402


def write_sdf(path, smiles: list[str]):
    writer = Chem.SDWriter(str(path))
    for text in smiles:
        mol = Chem.AddHs(Chem.MolFromSmiles(text))
        AllChem.EmbedMolecule(mol, randomSeed=1)
        writer.write(mol)
    writer.close()
    return path


def test_every_molecule_of_an_sdf_file_is_a_ligand(tmp_path):
    path = write_sdf(tmp_path / "set.sdf", ["CCO", "CCN", "c1ccccc1O"])
    specs = resolve_ligands(str(path))
    assert [s.name for s in specs] == ["set_1", "set_2", "set_3"]
    heavy = [ligand_3d(s, seed=1).GetNumHeavyAtoms() for s in specs]
    assert heavy == [3, 3, 7]  # each record, not the first three times
    with pytest.raises(DockError, match="holds 3 molecules"):
        resolve_ligand(str(path))


def test_a_bad_record_among_good_ones_is_refused(tmp_path):
    path = write_sdf(tmp_path / "set.sdf", ["CCO", "CCN"])
    path.write_text(path.read_text() + "garbage\n$$$$\n")
    with pytest.raises(DockError, match=r"record\(s\) 3 of 3 cannot be read"):
        resolve_ligands(str(path))


def test_one_molecule_sdf_keeps_the_stem(tmp_path):
    [spec] = resolve_ligands(str(write_sdf(tmp_path / "phenol.sdf", ["c1ccccc1O"])))
    assert spec.name == "phenol" and spec.sdf_index == 0


def test_name_equals_smiles_names_the_ligand():
    [spec] = resolve_ligands("ethanol=CCO")
    assert (spec.name, spec.smiles, spec.dropped) == ("ethanol", "CCO", ())
    [plain] = resolve_ligands("C=C")  # a SMILES with "=" stays a SMILES
    assert plain.smiles == "C=C" and plain.name.startswith("lig_")


def test_salt_docks_its_largest_fragment_and_says_what_was_dropped():
    [spec] = resolve_ligands("CC(=O)[O-].[Na+]")
    assert spec.smiles == "CC(=O)[O-]" and spec.dropped == ("[Na+]",)
    [acetate] = resolve_ligands("CC(=O)[O-]")
    assert spec.name == acetate.name  # named after what is docked, not after the salt
    assert ligand_3d(spec, seed=1).GetNumHeavyAtoms() == 4


@pytest.mark.parametrize(
    ("value", "message"),
    [("N.N.Cl[Pt]Cl", "contains Pt"), ("[Fe+2].[cH-]1cccc1.[cH-]1cccc1", "contains Fe"),
     ("[K+].[Cl-]", "ions or single atoms only"), ("OB(O)c1ccccc1", "contains B")],
)
def test_what_vina_cannot_represent_is_refused(value, message):
    with pytest.raises(DockError, match=message):
        resolve_ligands(value)


def test_catalog_names_still_resolve():
    [spec] = resolve_ligands("Metformin")
    assert spec.name == "metformin" and spec.smiles == "CN(C)C(=N)NC(N)=N"



@pytest.mark.parametrize("smiles", ["CCOC(=O)c1ccccc1", "CC(C)OC(=O)NCc1ccccc1"])
def test_ester_and_carbamate_bonds_are_rigid_in_their_embedded_z_form(smiles):
    """Ethyl benzoate and a carbamate: one torsion fewer than Meeko's default (the C(=O)-O bond),
    and the conformer that bond keeps is the planar Z form (O=C-O-C near 0 degrees)."""
    import meeko
    from rdkit.Chem import rdMolTransforms

    from remyfold.dock.ligand import ESTER_SMARTS, LigandSpec, ligand_pdbqt

    mol = ligand_3d(LigandSpec("ester", smiles=smiles), 7)
    ours = ligand_pdbqt(mol, "ester")
    default, _, _ = meeko.PDBQTWriterLegacy.write_string(meeko.MoleculePreparation().prepare(mol)[0])

    def torsions(text: str) -> int:
        return int(next(line for line in text.splitlines() if line.startswith("TORSDOF")).split()[1])

    assert torsions(ours) == torsions(default) - 1
    (carbon, oxo, oxygen, next_carbon), = mol.GetSubstructMatches(Chem.MolFromSmarts(ESTER_SMARTS))
    angle = rdMolTransforms.GetDihedralDeg(mol.GetConformer(), oxo, carbon, oxygen, next_carbon)
    assert abs(angle) < 30


def test_a_macrocycle_is_opened_for_the_search_and_rigid_on_request():
    """Vina searches a macrocycle opened (glue atoms CG0/G0); AutoDock4 scoring has no glue maps, so rigid."""
    mol = Chem.AddHs(Chem.MolFromSmiles("OC1CCCCCCCCCCC1"))  # cyclododecanol, a 12-membered ring
    AllChem.EmbedMolecule(mol, randomSeed=3)
    types = lambda text: {line[77:].strip() for line in text.splitlines() if line.startswith(("ATOM", "HETATM"))}  # noqa: E731
    opened, rigid = ligand_pdbqt(mol, "ring"), ligand_pdbqt(mol, "ring", rigid_macrocycles=True)
    assert {"CG0", "G0"} <= types(opened)
    assert not any(t.startswith(("CG", "G")) for t in types(rigid)) and "C" in types(rigid)
    assert rigid.count("BRANCH") < opened.count("BRANCH")  # the ring's bonds no longer rotate
