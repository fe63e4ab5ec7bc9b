"""Known answers for the docking numbers (issue 25): pose RMSD and search boxes.

RMSD: the crystal progesterone of 1A28 moved by a rigid transform or a torsion change whose
RMSD is computed here analytically (per-atom displacements from the transform, no RDKit), so
an RMSD that became 0, or that superposed the pose first (``GetBestRMS``), fails. Boxes:
``box_around`` (pocket span + 8 Å, floor ``max(18, ligand extent + 8)``, cap 30 Å or the
floor), ``Box.contains`` on its faces, ``parse_box``, ``check_box``'s fit margin, and the
ligand centre and extent on a hand-placed molecule.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from remyfold.dock.box import REACH, Box, box_around, check_box, parse_box
from remyfold.dock.errors import DockError

PROGESTERONE = "CC(=O)[C@H]1CC[C@H]2[C@@H]3CCC4=CC(=O)CC[C@]4(C)[C@H]3CC[C@]12C"


@pytest.fixture(scope="module")
def crystal():
    """Progesterone (STR) of 1A28 chain A, bond orders from its SMILES."""
    pytest.importorskip("rdkit")
    from remyfold.dock.redock import crystal_ligand_from_structure

    data = Path(next(iter(importlib.util.find_spec("MDAnalysisTests").submodule_search_locations))) / "data"
    return crystal_ligand_from_structure(data / "1a28.pdb.gz", "STR", "A", PROGESTERONE)


def moved(mol, positions: np.ndarray):
    """A copy of ``mol`` whose conformer has ``positions`` ``[N, 3]``."""
    from rdkit import Chem
    from rdkit.Geometry import Point3D

    copy = Chem.Mol(mol)
    conf = copy.GetConformer()
    for i, (x, y, z) in enumerate(positions):
        conf.SetAtomPosition(i, Point3D(float(x), float(y), float(z)))
    return copy


def rotation(axis: np.ndarray, degrees: float) -> np.ndarray:
    """``[3, 3]`` rotation by ``degrees`` about the unit vector along ``axis`` (Rodrigues)."""
    k = axis / np.linalg.norm(axis)
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    t = math.radians(degrees)
    return np.eye(3) + math.sin(t) * cross + (1 - math.cos(t)) * cross @ cross


def test_translation_by_3_angstrom_is_rmsd_3(crystal):
    """Every atom moves by |(1, 2, 2)| = 3 Å; no symmetry can lower a pure translation's RMSD."""
    from remyfold.dock.redock import heavy_atom_rmsd

    pos = crystal.GetConformer().GetPositions()
    assert heavy_atom_rmsd(crystal, crystal) == pytest.approx(0.0, abs=1e-6)
    assert heavy_atom_rmsd(moved(crystal, pos + [1.0, 2.0, 2.0]), crystal) == pytest.approx(3.0, abs=1e-4)


def test_atom_order_does_not_matter(crystal):
    from rdkit import Chem

    from remyfold.dock.redock import heavy_atom_rmsd

    pose = moved(crystal, crystal.GetConformer().GetPositions() + [1.0, 2.0, 2.0])
    order = list(range(pose.GetNumAtoms()))[::-1]
    assert heavy_atom_rmsd(Chem.RenumberAtoms(pose, order), crystal) == pytest.approx(3.0, abs=1e-4)


def test_rotation_about_the_centre_has_its_analytic_rmsd(crystal):
    """Rotating by θ about an axis through the centroid moves atom i by 2 r_i sin(θ/2)."""
    from remyfold.dock.redock import heavy_atom_rmsd

    pos = crystal.GetConformer().GetPositions()
    centre, axis = pos.mean(axis=0), np.array([0.3, -0.5, 0.8])
    turned = (pos - centre) @ rotation(axis, 90.0).T + centre
    k = axis / np.linalg.norm(axis)
    r = np.linalg.norm(np.cross(pos - centre, k), axis=1)  # [N] distance of each atom from the axis
    expected = math.sqrt(np.mean((2 * r * math.sin(math.radians(45.0))) ** 2))
    assert expected > 2.0
    assert heavy_atom_rmsd(moved(crystal, turned), crystal) == pytest.approx(expected, abs=1e-3)


def side_of_bond(mol, fixed: int, moving: int) -> list[int]:
    """Atoms reached from ``moving`` without crossing the bond ``fixed``-``moving``."""
    seen, todo = {moving}, [moving]
    while todo:
        for nb in mol.GetAtomWithIdx(todo.pop()).GetNeighbors():
            if nb.GetIdx() not in seen and nb.GetIdx() != fixed:
                seen.add(nb.GetIdx())
                todo.append(nb.GetIdx())
    return sorted(seen)


def test_torsion_change_of_the_acetyl_group_has_its_analytic_rmsd(crystal):
    """Turn the acetyl group (C20, O20, C21) by 120° about the C17–C20 bond: only those atoms move."""
    from rdkit import Chem

    from remyfold.dock.redock import heavy_atom_rmsd

    _, c20, _, c17 = crystal.GetSubstructMatch(Chem.MolFromSmarts("[CH3][CX3](=O)[CH1;R]"))
    side = side_of_bond(crystal, c17, c20)
    assert len(side) == 3  # C20, O20, C21
    pos = crystal.GetConformer().GetPositions()
    axis = pos[c20] - pos[c17]
    turned = pos.copy()
    turned[side] = (pos[side] - pos[c20]) @ rotation(axis, 120.0).T + pos[c20]
    k = axis / np.linalg.norm(axis)
    r = np.linalg.norm(np.cross(pos[side] - pos[c20], k), axis=1)
    expected = math.sqrt(np.sum((2 * r * math.sin(math.radians(60.0))) ** 2) / crystal.GetNumHeavyAtoms())
    assert expected > 0.5
    assert heavy_atom_rmsd(moved(crystal, turned), crystal) == pytest.approx(expected, abs=1e-3)


def test_a_different_molecule_is_a_dock_error(crystal):
    from rdkit import Chem
    from rdkit.Chem import AllChem

    from remyfold.dock.redock import heavy_atom_rmsd

    other = Chem.AddHs(Chem.MolFromSmiles("CCO"))
    AllChem.EmbedMolecule(other, randomSeed=1)
    with pytest.raises(DockError, match="do not match atom for atom"):
        heavy_atom_rmsd(other, crystal)


def test_ligand_centre_and_extent_use_heavy_atoms_only():
    """A hand-placed propane: carbons at x = 0, 1.5, 4.0 plus one far hydrogen (ignored)."""
    from rdkit import Chem

    from remyfold.dock.ligand import ligand_extent
    from remyfold.dock.redock import ligand_centre

    mol = Chem.AddHs(Chem.MolFromSmiles("CCC"))
    pos = np.zeros((mol.GetNumAtoms(), 3))
    pos[:3, 0] = [0.0, 1.5, 4.0]
    pos[3:] = [50.0, 50.0, 50.0]
    conf = Chem.Conformer(mol.GetNumAtoms())
    for i, p in enumerate(pos):
        conf.SetAtomPosition(i, p.tolist())
    mol.AddConformer(conf)
    assert ligand_centre(mol) == pytest.approx([5.5 / 3, 0.0, 0.0])
    assert ligand_extent(mol) == pytest.approx(4.0)


def test_box_from_a_small_pocket_is_the_18_angstrom_floor_at_the_span_midpoint():
    # Span 4 x 6 x 3 Å; the points' mean (1, 1.5, 0.75) is not the span's midpoint (2, 3, 1.5).
    points = np.array([[0, 0, 0], [0, 0, 0], [0, 0, 0], [4, 6, 3]], dtype=float)
    box = box_around(points, ligand_extent=5.0)
    assert box == Box((2.0, 3.0, 1.5), (18.0, 18.0, 18.0))


def test_box_pads_each_axis_by_8_and_caps_at_30():
    points = np.array([[1, -2, 5], [15, 38, 26.5]], dtype=float)
    assert box_around(points, ligand_extent=5.0).size == (22.0, 30.0, 29.5)


def test_box_floor_follows_a_large_ligand():
    """Ligand 25 Å across: every side at least 33 Å, which then is also the cap."""
    points = np.array([[0, 0, 0], [10, 30, 60]], dtype=float)
    box = box_around(points, ligand_extent=25.0)
    assert box.size == (33.0, 33.0, 33.0) and box.centre == (5.0, 15.0, 30.0)


def test_box_contains_its_faces_and_nothing_beyond():
    box = Box((1.0, 2.0, 3.0), (4.0, 6.0, 8.0))
    points = np.array([[3.0, 5.0, 7.0], [-1.0, -1.0, -1.0], [3.001, 2, 3], [1, 2, 7.001], [1, -1.001, 3]])
    assert box.contains(points).tolist() == [True, True, False, False, False]
    odd = Box((0.0, 0.0, 0.0), (5.0, 5.0, 5.0))  # half side 2.5
    assert odd.contains(np.array([[2.5, -2.5, 0.0], [2.6, 0.0, 0.0]])).tolist() == [True, False]


def test_parse_box_and_text():
    box = parse_box("1,-2.5,3,20,22,24.25")
    assert box == Box((1.0, -2.5, 3.0), (20.0, 22.0, 24.25))
    assert parse_box("-1,0,-3,20,22,24") == Box((-1.0, 0.0, -3.0), (20.0, 22.0, 24.0))  # any centre is fine
    assert parse_box("0,0,0,0.5,0.5,0.5").size == (0.5, 0.5, 0.5)  # any positive size parses
    assert box.text() == "1.000,-2.500,3.000,20.000,22.000,24.250"
    with pytest.raises(dataclasses.FrozenInstanceError):
        box.size = (1.0, 1.0, 1.0)
    assert {box, parse_box("1,-2.5,3,20,22,24.25")} == {box}
    for bad in ("1,2,3,20,20", "1,2,3,20,20,20,5", "1,2,3,0,20,20", "1,2,3,20,0,20", "1,2,3,20,-1,20", "a,2,3,20,20,20", "1,2,nan,20,20,20"):
        with pytest.raises(DockError, match="is not CX,CY,CZ,SX,SY,SZ"):
            parse_box(bad)


def test_check_box_fit_margin_and_overlap():
    protein = np.array([[0.0, 0.0, 0.0]])
    box = Box((0.0, 0.0, 0.0), (12.0, 14.0, 16.0))
    check_box(box, protein, 10.0, "lig", "rec")  # 10 + 2 = 12: fits exactly
    with pytest.raises(DockError, match="too large for box .* make every side at least 12 Å"):
        check_box(box, protein, 10.01, "lig", "rec")
    with pytest.raises(DockError, match="outside the protein"):
        check_box(box, protein + [6.0 + REACH + 0.01, 0.0, 0.0], 1.0, "lig", "rec")
    check_box(box, protein + [6.0 + REACH, 0.0, 0.0], 1.0, "lig", "rec")  # REACH Å from the face: near enough


def test_crystal_ligand_of_the_chain_asked_for(crystal):
    """1A28 has a progesterone in chain A and one in B: the chain picks it; no chain, the first (A)."""
    from remyfold.dock.redock import crystal_ligand_from_structure, heavy_atom_rmsd

    path = Path(next(iter(importlib.util.find_spec("MDAnalysisTests").submodule_search_locations))) / "data" / "1a28.pdb.gz"
    chain_b = crystal_ligand_from_structure(path, "STR", "B", PROGESTERONE)
    assert chain_b.GetNumHeavyAtoms() == crystal.GetNumHeavyAtoms() == 23
    assert heavy_atom_rmsd(chain_b, crystal) > 10.0  # another site of the crystal
    first = crystal_ligand_from_structure(path, "STR", None, PROGESTERONE)
    assert heavy_atom_rmsd(first, crystal) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(DockError, match="no residue STR in chain C in"):
        crystal_ligand_from_structure(path, "STR", "C", PROGESTERONE)
    with pytest.raises(DockError, match="no residue XYZ in"):
        crystal_ligand_from_structure(path, "XYZ", None, PROGESTERONE)


def test_crystal_ligand_from_sdf_keeps_the_pose(crystal, tmp_path):
    from rdkit import Chem

    from remyfold.dock.redock import crystal_ligand_from_sdf, heavy_atom_rmsd

    sdf = tmp_path / "str.sdf"
    with Chem.SDWriter(str(sdf)) as writer:
        writer.write(Chem.AddHs(crystal, addCoords=True))
    mol = crystal_ligand_from_sdf(sdf)
    assert mol.GetNumAtoms() == 23 and heavy_atom_rmsd(mol, crystal) == pytest.approx(0.0, abs=1e-3)
    (tmp_path / "bad.sdf").write_text("not a molecule\n$$$$\n")
    with pytest.raises(DockError, match="no readable molecule in"):
        crystal_ligand_from_sdf(tmp_path / "bad.sdf")


def test_an_empty_crystal_sdf_is_a_one_line_dock_error(tmp_path):
    from remyfold.dock.errors import DockError
    from remyfold.dock.redock import crystal_ligand_from_sdf

    empty = tmp_path / "empty.sdf"
    empty.write_text("")
    with pytest.raises(DockError, match="empty.sdf") as err:
        crystal_ligand_from_sdf(empty)
    assert "\n" not in str(err.value)


def test_rival_poses_are_other_binding_modes_scored_close_to_the_top():
    from moved_pose import moved
    from rdkit import Chem
    from rdkit.Chem import AllChem

    from remyfold.dock.vina_dock import Pose, rival_ranks

    mol = Chem.AddHs(Chem.MolFromSmiles("CC(=O)Nc1ccc(O)cc1"))
    AllChem.EmbedMolecule(mol, randomSeed=7)
    # rank 2: 3 Å away, 0.2 kcal/mol worse (a rival); rank 3: 1 Å away (the same mode); rank 4: 3 Å away
    # but 0.5 kcal/mol worse; rank 5: 5 Å away, 0.25 kcal/mol worse (a rival)
    poses = [Pose(1, -9.0, mol), Pose(2, -8.8, moved(mol, 3.0)), Pose(3, -8.95, moved(mol, 1.0)),
             Pose(4, -8.5, moved(mol, 3.0)), Pose(5, -8.75, moved(mol, 5.0))]
    assert rival_ranks(poses) == [2, 5]
    assert rival_ranks(poses, margin=0.1) == []
    assert rival_ranks(poses, margin=1.0) == [2, 4, 5]
    assert rival_ranks(poses[:1]) == [] and rival_ranks([]) == []
