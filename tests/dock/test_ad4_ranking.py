"""remyfold.dock.ad4_ranking: AutoGrid4 maps over a box, scored through Vina's AutoDock4 function, and the
AutoDock4 order of docked poses with its clear/rival rule (``remyfold dock --ranking ad4``)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from moved_pose import moved

from remyfold.dock import ad4_ranking
from remyfold.dock.box import Box
from remyfold.errors import InputError

Chem = pytest.importorskip("rdkit.Chem")
pytest.importorskip("vina")
needs_autogrid = pytest.mark.skipif(shutil.which("autogrid4") is None, reason="needs autogrid4 (apt-get install autogrid)")

# A small receptor patch: a carbonyl, an amide N-H, an aromatic carbon, a hydroxyl (AutoDock types).
ATOMS = [("C", 0.0, 0.0, 0.0, 0.2, "C"), ("O", 1.2, 0.0, 0.0, -0.3, "OA"), ("N", -0.8, 1.1, 0.0, -0.3, "N"),
         ("H", -0.4, 2.0, 0.0, 0.2, "HD"), ("CZ", 0.0, -1.4, 4.0, 0.0, "A"), ("OH", 3.0, 3.0, 3.0, -0.4, "OA")]


def _receptor(path: Path) -> Path:
    lines = [f"ATOM  {i:5d} {name:<4s} ALA A   1    {x:8.3f}{y:8.3f}{z:8.3f}  1.00  0.00    {q:+6.3f} {kind:<2s}"
             for i, (name, x, y, z, q, kind) in enumerate(ATOMS, start=1)]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def _ligand_pdbqt(centre=(4.0, 0.0, 1.0)) -> str:
    from rdkit.Chem import AllChem

    from remyfold.dock.ligand import ligand_pdbqt

    mol = Chem.AddHs(Chem.MolFromSmiles("CCO"))
    AllChem.EmbedMolecule(mol, randomSeed=7)
    conf = mol.GetConformer()
    shift = [c - m for c, m in zip(centre, conf.GetPositions().mean(axis=0))]
    for i in range(mol.GetNumAtoms()):
        p = conf.GetAtomPosition(i)
        conf.SetAtomPosition(i, (p.x + shift[0], p.y + shift[1], p.z + shift[2]))
    return ligand_pdbqt(mol, "ethanol")


def test_types_come_from_the_type_column_only():
    lines = ["REMARK  not an atom OA", "ATOM      1 C    ALA A   1       0.000   0.000   0.000  1.00  0.00    +0.200 C ",
             "HETATM    2 ZN   ZN  A   2       1.000   0.000   0.000  1.00  0.00    +2.000 Zn",
             "TER"]
    lines.append(lines[1][:77] + "CG0")  # Meeko's glue carbon: a type three characters wide
    assert ad4_ranking.pdbqt_types("\n".join(lines)) == ["C", "CG0", "Zn"]


@needs_autogrid
def test_maps_are_made_for_each_ligand_type_and_score_a_pose(tmp_path):
    ligand = _ligand_pdbqt()
    types = ad4_ranking.pdbqt_types(ligand)
    assert types == ["C", "HD", "OA"]
    prefix = ad4_ranking.ad4_maps(_receptor(tmp_path / "rec.pdbqt"), Box((2.0, 0.0, 1.0), (12.0, 12.0, 12.0)), types,
                               tmp_path / "maps")  # fmt: skip
    for kind in [*types, "e", "d"]:
        assert Path(f"{prefix}.{kind}.map").is_file()
    # the grid is the box plus PAD: 14 Å at 0.375 Å is 36 intervals (an even count), so 37 points a side
    assert "NELEMENTS 36 36 36" in Path(f"{prefix}.C.map").read_text()[:400]
    engine = ad4_ranking.ad4_engine(prefix)
    engine.set_ligand_from_string(ligand)
    near = engine.score()[0]
    engine.set_ligand_from_string(_ligand_pdbqt((4.0, 5.5, 6.0)))
    far = engine.score()[0]
    assert math.isfinite(near) and math.isfinite(far) and near != far


@needs_autogrid
def test_a_receptor_autogrid_cannot_read_is_one_line(tmp_path):
    bad = tmp_path / "bad.pdbqt"
    bad.write_text("ATOM      1 C    ALA A   1       0.000   0.000   0.000  1.00  0.00    +0.200 Qq\n")
    with pytest.raises(InputError) as err:
        ad4_ranking.ad4_maps(bad, Box((0.0, 0.0, 0.0), (10.0, 10.0, 10.0)), ["C"], tmp_path / "maps")
    assert "autogrid4 failed on" in str(err.value) and "\n" not in str(err.value)


def test_no_autogrid_is_one_line_naming_the_package(monkeypatch):
    monkeypatch.setattr(ad4_ranking, "AUTOGRID", "autogrid4-not-installed")
    with pytest.raises(InputError) as err:
        ad4_ranking.check_autogrid()
    assert "apt-get install autogrid" in str(err.value) and "\n" not in str(err.value)


@pytest.fixture(scope="module")
def paracetamol():
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(Chem.MolFromSmiles("CC(=O)Nc1ccc(O)cc1"))
    AllChem.EmbedMolecule(mol, randomSeed=7)
    return mol


def test_ranked_by_ad4_with_the_ranks_and_scores_of_both(paracetamol):
    from remyfold.dock.vina_dock import Pose

    # Vina's order: rank 1 at 0 Å, rank 2 3 Å away (1 kcal/mol worse: no Vina rival), rank 3 1.5 Å away
    poses = [Pose(1, -9.0, paracetamol), Pose(2, -8.0, moved(paracetamol, 3.0)), Pose(3, -7.5, moved(paracetamol, 1.5))]
    ranked, rivals = ad4_ranking.rank_by_ad4(poses, [-5.0, -6.0, -4.0])
    assert [(p.rank, p.vina_rank, p.ad4, p.score) for p in ranked] == [(1, 2, -6.0, -8.0), (2, 1, -5.0, -9.0),
                                                                       (3, 3, -4.0, -7.5)]  # fmt: skip
    assert rivals == [2]  # AD4's top is another binding mode than Vina's top (3 Å): Vina's top is its rival
    ranked, rivals = ad4_ranking.rank_by_ad4(poses, [-6.0, -5.0, -4.0])
    assert [p.vina_rank for p in ranked] == [1, 2, 3] and rivals == []  # both agree, Vina's top is clear
    ranked, rivals = ad4_ranking.rank_by_ad4(poses, [-5.0, -4.0, -6.0])
    assert [p.vina_rank for p in ranked] == [3, 1, 2] and rivals == []  # AD4's top is 1.5 Å from Vina's: one mode
    ranked, rivals = ad4_ranking.rank_by_ad4(poses, [-5.0, -5.0, -5.0])
    assert [p.vina_rank for p in ranked] == [1, 2, 3]  # ties keep Vina's order


def test_vina_rivals_stay_rivals_when_ranked_by_ad4(paracetamol):
    from remyfold.dock.vina_dock import Pose

    # Vina rank 2 is 3 Å away and 0.1 kcal/mol worse: a Vina rival, whichever pose AutoDock4 puts first
    poses = [Pose(1, -9.0, paracetamol), Pose(2, -8.9, moved(paracetamol, 3.0)), Pose(3, -7.0, moved(paracetamol, 1.5))]
    assert ad4_ranking.rank_by_ad4(poses, [-6.0, -5.0, -4.0])[1] == [2]
    ranked, rivals = ad4_ranking.rank_by_ad4(poses, [-5.0, -4.0, -6.0])  # AD4's top: Vina rank 3, 1.5 Å from rank 1
    assert ranked[0].vina_rank == 3 and rivals == [3]  # Vina's rival (rank 2) is now rank 3
    ranked, rivals = ad4_ranking.rank_by_ad4(poses, [-5.0, -6.0, -4.0])  # AD4's top is Vina's rival itself
    assert ranked[0].vina_rank == 2 and rivals == [2]  # Vina's top (now rank 2) is the rival


def test_each_pose_is_scored_in_the_box_it_was_docked_in(paracetamol, monkeypatch):
    from types import SimpleNamespace

    from remyfold.dock.runner import rank_poses
    from remyfold.dock.vina_dock import Pose

    boxes = {1: Box((0.0, 0.0, 0.0), (20.0, 20.0, 20.0)), 2: Box((30.0, 0.0, 0.0), (18.0, 18.0, 18.0))}
    runs = [(boxes[rank], SimpleNamespace(rank=rank), None) for rank in (1, 2)]
    poses = [Pose(1, -9.0, paracetamol, pocket=2), Pose(2, -8.0, moved(paracetamol, 5.0), pocket=1)]
    seen = []
    monkeypatch.setattr(ad4_ranking, "ad4_scores", lambda rec, mols, given: seen.append(given) or [-1.0, -2.0])
    ranked, _rivals = rank_poses("ad4", Path("receptor.pdbqt"), poses, runs)
    assert seen == [[boxes[2], boxes[1]]] and [p.pocket for p in ranked] == [1, 2]
    assert rank_poses("vina", Path("receptor.pdbqt"), poses, runs) == (poses, [])
    single = [(boxes[1], None, None)]  # a given site or box: the poses have no pocket
    rank_poses("ad4", Path("receptor.pdbqt"), [Pose(1, -9.0, paracetamol), Pose(2, -8.0, paracetamol)], single)
    assert seen[-1] == [boxes[1], boxes[1]]


def test_an_unknown_ranking_is_one_line():
    from remyfold.dock.errors import DockError
    from remyfold.dock.vina_dock import DockSettings

    with pytest.raises(DockError, match="--ranking 'best': give vina") as err:
        DockSettings(ranking="best")
    assert "\n" not in str(err.value)
    assert DockSettings().as_dict()["ranking"] == "vina" and DockSettings(ranking="ad4").as_dict()["ranking"] == "ad4"
