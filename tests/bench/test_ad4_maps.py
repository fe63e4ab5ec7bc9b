"""bench/dock/ad4_maps.py: AutoGrid4 maps over a box, scored through Vina's AutoDock4 function."""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "dock"))
import ad4_maps  # noqa: E402

from remyfold.dock.box import Box  # noqa: E402
from remyfold.errors import InputError  # noqa: E402

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
    assert ad4_maps.pdbqt_types("\n".join(lines)) == ["C", "CG0", "Zn"]


@needs_autogrid
def test_maps_are_made_for_each_ligand_type_and_score_a_pose(tmp_path):
    ligand = _ligand_pdbqt()
    types = ad4_maps.pdbqt_types(ligand)
    assert types == ["C", "HD", "OA"]
    prefix = ad4_maps.ad4_maps(_receptor(tmp_path / "rec.pdbqt"), Box((2.0, 0.0, 1.0), (12.0, 12.0, 12.0)), types,
                               tmp_path / "maps")  # fmt: skip
    for kind in [*types, "e", "d"]:
        assert Path(f"{prefix}.{kind}.map").is_file()
    # the grid is the box plus PAD: 14 Å at 0.375 Å is 36 intervals (an even count), so 37 points a side
    assert "NELEMENTS 36 36 36" in Path(f"{prefix}.C.map").read_text()[:400]
    engine = ad4_maps.ad4_engine(prefix)
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
        ad4_maps.ad4_maps(bad, Box((0.0, 0.0, 0.0), (10.0, 10.0, 10.0)), ["C"], tmp_path / "maps")
    assert "autogrid4 failed on" in str(err.value) and "\n" not in str(err.value)


def test_no_autogrid_is_one_line_naming_the_package(monkeypatch):
    monkeypatch.setattr(ad4_maps, "AUTOGRID", "autogrid4-not-installed")
    with pytest.raises(InputError) as err:
        ad4_maps.check_autogrid()
    assert "apt-get install autogrid" in str(err.value) and "\n" not in str(err.value)
