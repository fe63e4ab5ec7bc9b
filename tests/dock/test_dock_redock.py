"""``redock()``'s own arithmetic, in seconds (issue 25): pocket choice, DCC, box, pose RMSDs.

The slow parts of a redock (pocket detection, receptor preparation, Vina) are replaced by
stand-ins that hand back known answers: two pockets whose centres sit at known offsets from the
crystal ligand's centre, and three poses that are the crystal progesterone of 1A28 translated by
known vectors (so their RMSDs are the translation lengths). What is left is redock()'s own work:
the first pocket's box and distance to the crystal centre, the receptor file it writes, and the
top and best pose numbers. The real chain runs in tests/dock/test_dock.py (slow).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from test_dock_rmsd_box import PROGESTERONE, crystal, moved  # noqa: F401  (crystal is a fixture)

from remyfold.dock.errors import DockError

RECEPTOR_TEXT = "REMARK stand-in receptor\n"


@pytest.fixture
def stand_ins(monkeypatch, crystal):  # noqa: F811
    """Replace the slow steps; the calls redock made and the crystal ligand's centre."""
    import remyfold.dock.ligand as ligand
    import remyfold.dock.pockets as pockets
    import remyfold.dock.receptor_prep as receptor_prep
    import remyfold.dock.vina_dock as vina_dock
    from remyfold.dock.redock import ligand_centre
    from remyfold.dock.vina_dock import DockSettings, Pose

    centre = ligand_centre(crystal)
    positions = crystal.GetConformer().GetPositions()
    calls = SimpleNamespace(centre=centre, settings=DockSettings(seed=7), pockets=[
        SimpleNamespace(centre=tuple(centre + [3.0, 4.0, 0.0]), points=centre + np.array([[-2.0, 0, 0], [2.0, 1.0, 0]])),
        SimpleNamespace(centre=tuple(centre), points=centre + np.array([[-9.0, 0, 0], [9.0, 0, 0]])),
    ])  # fmt: skip

    def fake_dock(receptor_path: Path, ligand_text: str, box, settings):
        calls.receptor_name, calls.receptor_text = receptor_path.name, receptor_path.read_text()
        calls.ligand_text, calls.box, calls.dock_settings = ligand_text, box, settings
        shifts = ([1.0, 2.0, 2.0], [0.0, 0.0, 1.0], [0.0, 2.0, 0.0])  # RMSD 3, 1, 2
        return SimpleNamespace(poses=[Pose(rank, -10.0 + rank, moved(crystal, positions + shift))
                                      for rank, shift in enumerate(shifts, start=1)])  # fmt: skip

    def fake_3d(spec, seed, ph):
        calls.spec, calls.seed, calls.ph = spec, seed, ph
        return crystal

    monkeypatch.setattr(ligand, "ligand_3d", fake_3d)
    monkeypatch.setattr(ligand, "ligand_pdbqt", lambda mol, name: f"LIGAND {name}\n")
    monkeypatch.setattr(pockets, "find_pockets", lambda receptor: calls.pockets)
    monkeypatch.setattr(receptor_prep, "receptor_pdbqt", lambda receptor: SimpleNamespace(pdbqt=RECEPTOR_TEXT))
    monkeypatch.setattr(vina_dock, "dock_pdbqt", fake_dock)
    return calls


def test_redock_scores_the_first_pocket_and_the_poses_against_the_crystal(stand_ins, crystal):  # noqa: F811
    """DCC of pocket 1 is |(3, 4, 0)| = 5 Å; the top pose (RMSD 3) is not the best one (RMSD 1)."""
    from remyfold.dock.box import box_around
    from remyfold.dock.ligand import ligand_extent
    from remyfold.dock.redock import redock

    result = redock(SimpleNamespace(name="rec"), PROGESTERONE, crystal, stand_ins.settings)
    assert result["pocket_dcc"] == pytest.approx(5.0, abs=1e-9)
    assert result["top_score"] == -9.0
    assert result["top_rmsd"] == pytest.approx(3.0, abs=1e-4)
    assert result["best_rmsd"] == pytest.approx(1.0, abs=1e-4)
    assert result["n_poses"] == 3 and result["heavy_atoms"] == 23
    assert stand_ins.box == box_around(stand_ins.pockets[0].points, ligand_extent(crystal))
    assert stand_ins.receptor_name == "receptor.pdbqt" and stand_ins.receptor_text == RECEPTOR_TEXT
    assert stand_ins.ligand_text == "LIGAND ligand\n" and stand_ins.dock_settings is stand_ins.settings
    assert stand_ins.spec.smiles == PROGESTERONE and stand_ins.seed == 7 and stand_ins.ph == 7.4  # ionised as remyfold dock does


def test_redock_with_the_pocket_on_the_ligand_has_dcc_zero(stand_ins, crystal):  # noqa: F811
    from remyfold.dock.redock import redock

    stand_ins.pockets.reverse()
    result = redock(SimpleNamespace(name="rec"), PROGESTERONE, crystal, stand_ins.settings)
    assert result["pocket_dcc"] == pytest.approx(0.0, abs=1e-9)


def test_redock_without_a_pocket_is_a_dock_error(stand_ins, crystal):  # noqa: F811
    from remyfold.dock.redock import redock

    stand_ins.pockets.clear()
    with pytest.raises(DockError, match="no pocket found in rec"):
        redock(SimpleNamespace(name="rec"), PROGESTERONE, crystal, stand_ins.settings)


def one_a28() -> Path:
    import importlib.util

    return Path(next(iter(importlib.util.find_spec("MDAnalysisTests").submodule_search_locations))) / "data" / "1a28.pdb.gz"


@pytest.mark.parametrize("chain", ["0", "Z"])
def test_a_chain_that_is_not_in_the_file_is_an_error_whatever_its_name_sorts_as(chain):
    """1A28 has chains A and B: "0" sorts before both, "Z" after; neither may fall back on another chain."""
    pytest.importorskip("rdkit")
    from remyfold.dock.redock import crystal_ligand_from_structure

    with pytest.raises(DockError, match=f"no residue STR in chain {chain} in"):
        crystal_ligand_from_structure(one_a28(), "STR", chain, PROGESTERONE)


def test_a_missing_crystal_file_is_a_dock_error(tmp_path):
    pytest.importorskip("rdkit")
    from remyfold.dock.redock import crystal_ligand_from_structure

    with pytest.raises(DockError, match="absent.pdb"):
        crystal_ligand_from_structure(tmp_path / "absent.pdb", "STR", None, PROGESTERONE)


def test_the_crystal_ligand_comes_from_the_first_model(crystal, tmp_path):  # noqa: F811
    """A two-model file whose second model is shifted 5 Å: the ligand is the first model's."""
    import gemmi

    from remyfold.dock.redock import crystal_ligand_from_structure, heavy_atom_rmsd

    st = gemmi.read_structure(str(one_a28()))
    st.add_model(st[0])
    st[1].transform_pos_and_adp(gemmi.Transform(gemmi.Mat33(), gemmi.Vec3(5.0, 0.0, 0.0)))
    st.renumber_models()
    path = tmp_path / "two_models.pdb"
    st.write_pdb(str(path))
    first = crystal_ligand_from_structure(path, "STR", "A", PROGESTERONE)
    assert heavy_atom_rmsd(first, crystal) == pytest.approx(0.0, abs=1e-3)


TQD = "COc1cc(N(C)C[C@@H]2CCc3nc(N)nc(N)c3C2)cc(OC)c1OC"  # 1S3V's ligand, pyrimidine aromatic


def posebusters_sdf(code: str) -> Path:
    import importlib.util

    pytest.importorskip("posebusters")
    root = Path(next(iter(importlib.util.find_spec("posebusters").submodule_search_locations)))
    return root / "datasets" / "pdb" / code / f"{code}_ligand.sdf"


def test_a_flat_carbon_typed_sp3_is_found_and_a_smiles_corrects_the_bond_orders():
    """posebusters' 1S3V SDF makes the pyrimidine C2 an sp3 CH; its coordinates have it flat (angles sum to 359°)."""
    from rdkit import Chem

    from remyfold.dock.redock import crystal_ligand_from_sdf, heavy_atom_rmsd, planar_sp3_carbons

    as_filed = crystal_ligand_from_sdf(posebusters_sdf("1s3v"))
    assert planar_sp3_carbons(as_filed) == [0]
    corrected = crystal_ligand_from_sdf(posebusters_sdf("1s3v"), TQD)
    assert planar_sp3_carbons(corrected) == []
    assert corrected.GetAtomWithIdx(0).GetIsAromatic()
    assert np.allclose(corrected.GetConformer().GetPositions(), as_filed.GetConformer().GetPositions())
    Chem.AssignStereochemistryFrom3D(corrected)
    assert Chem.MolToInchiKey(corrected) == Chem.MolToInchiKey(Chem.MolFromSmiles(TQD))
    assert heavy_atom_rmsd(corrected, corrected) == pytest.approx(0.0, abs=1e-6)


def test_real_sp3_carbons_are_not_flagged(crystal):  # noqa: F811
    """Progesterone's ring carbons (three heavy neighbours, tetrahedral) and 1UOU's ligand as filed pass."""
    from remyfold.dock.redock import crystal_ligand_from_sdf, planar_sp3_carbons

    assert planar_sp3_carbons(crystal) == []
    assert planar_sp3_carbons(crystal_ligand_from_sdf(posebusters_sdf("1uou"))) == []


def test_a_smiles_of_another_molecule_is_a_dock_error():
    from remyfold.dock.redock import crystal_ligand_from_sdf

    with pytest.raises(DockError, match="does not match the atoms of"):
        crystal_ligand_from_sdf(posebusters_sdf("1s3v"), PROGESTERONE)
