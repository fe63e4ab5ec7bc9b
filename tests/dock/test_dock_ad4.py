"""``remyfold dock --ranking ad4`` end to end on 1A28 (progesterone receptor + progesterone): the poses
Vina found ranked by AutoDock4, scores and both ranks written, the choice part of the request."""

from __future__ import annotations

import json
import shutil

import gemmi
import pytest

from remyfold.cli import main

pytest.importorskip("vina")
pytest.importorskip("meeko")

from remyfold.dock import ad4_ranking  # noqa: E402
from remyfold.dock.redock import crystal_ligand_from_structure, heavy_atom_rmsd, ligand_centre  # noqa: E402

Chem = pytest.importorskip("rdkit.Chem")
PROGESTERONE = "CC(=O)[C@H]1CC[C@H]2[C@@H]3CCC4=CC(=O)CC[C@]4(C)[C@H]3CC[C@]12C"
needs_autogrid = pytest.mark.skipif(shutil.which("autogrid4") is None, reason="needs autogrid4 (apt-get install autogrid)")


@needs_autogrid
def test_dock_ranked_by_ad4_writes_both_scores_and_a_rerun_by_vina_redoes_it(pr_lbd, tmp_path, capsys):
    crystal = crystal_ligand_from_structure(pr_lbd, "STR", "A", PROGESTERONE)
    box = ",".join(f"{v:.2f}" for v in ligand_centre(crystal)) + ",20,20,20"
    out = tmp_path / "dock"
    args = ["dock", str(pr_lbd), "--ligand", f"progesterone={PROGESTERONE}", "--out", str(out), "--box", box,
            "--exhaustiveness", "4", "--poses", "4"]
    assert main([*args, "--ranking", "ad4"]) == 0
    assert "AutoDock4" in capsys.readouterr().out
    poses = list(Chem.SDMolSupplier(str(out / "1a28_A__progesterone.poses.sdf"), removeHs=False))
    record = json.loads((out / "1a28_A__progesterone.dock.json").read_text())
    ad4 = [float(p.GetProp("ad4_score")) for p in poses]
    ranks = list(range(1, len(poses) + 1))
    assert len(poses) >= 2 and ad4 == sorted(ad4) and [int(p.GetProp("pose_rank")) for p in poses] == ranks
    assert sorted(int(p.GetProp("vina_rank")) for p in poses) == ranks
    assert [e["ad4_kcal_mol"] for e in record["poses"]] == pytest.approx(ad4, abs=1e-3)
    assert record["request"]["search"]["ranking"] == "ad4" and record["top_pose"]["ranking"] == "ad4"
    assert record["top_pose"]["clear"] == (not record["top_pose"]["rival_ranks"])
    assert heavy_atom_rmsd(poses[0], crystal) <= 2.0
    # the written scores are the poses' own: scored again from the SDF in the same box, the same values
    prepared = tmp_path / "rec.pdbqt"
    from remyfold.dock.box import parse_box
    from remyfold.dock.receptor import load_receptor
    from remyfold.dock.receptor_prep import receptor_pdbqt

    prepared.write_text(receptor_pdbqt(load_receptor(pr_lbd)).pdbqt)
    again = ad4_ranking.ad4_scores(prepared, poses, [parse_box(box)] * len(poses))
    assert again == pytest.approx(ad4, abs=2e-3)
    summary = [line.split("\t") for line in (out / "dock_summary.tsv").read_text().splitlines()]
    assert summary[0][-1] == "ad4_kcal_mol" and [float(row[-1]) for row in summary[1:]] == pytest.approx(ad4, abs=1e-3)
    # Vina's order with the same search: a new request, the pair redone, no AutoDock4 scores left
    assert main([*args, "--ranking", "vina"]) == 0
    record = json.loads((out / "1a28_A__progesterone.dock.json").read_text())
    assert record["request"]["search"]["ranking"] == "vina" and "ad4_kcal_mol" not in record["poses"][0]
    vina_poses = list(Chem.SDMolSupplier(str(out / "1a28_A__progesterone.poses.sdf"), removeHs=False))
    assert not vina_poses[0].HasProp("ad4_score")
    by_vina_rank = sorted(poses, key=lambda p: int(p.GetProp("vina_rank")))
    assert [float(p.GetProp("vina_score")) for p in vina_poses] == [float(p.GetProp("vina_score")) for p in by_vina_rank]
    assert (out / "dock_summary.tsv").read_text().splitlines()[1].endswith("\t")  # empty AutoDock4 cell


def test_no_autogrid_is_one_line_exit_2_and_nothing_written(pr_lbd, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(ad4_ranking, "AUTOGRID", "autogrid4-not-installed")
    out = tmp_path / "out"
    assert main(["dock", str(pr_lbd), "--ligand", "CCO", "--out", str(out), "--ranking", "ad4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "apt-get install autogrid" in err and "--ranking vina" in err
    assert not out.exists()


def test_unknown_ranking_is_a_usage_error(pr_lbd, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["dock", str(pr_lbd), "--ligand", "CCO", "--out", str(tmp_path / "o"), "--ranking", "best"])
    assert exit_.value.code == 2 and "invalid choice: 'best'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
