"""bench/dock/pose_rescoring.py: the rules that rank a run's poses again, and its refusal of a bad folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "dock"))
import pose_rescoring as pr  # noqa: E402


def _pose(rank, vinardo, local, rmsd, rmsd_local=None, ad4=(0.0, 0.0, None)):
    return {"rank": rank, "vina": -10.0 + rank, "vinardo": vinardo, "vinardo_local": local, "rmsd": rmsd,
            "rmsd_local": rmsd if rmsd_local is None else rmsd_local, "ad4": ad4[0], "ad4_local": ad4[1],
            "rmsd_ad4_local": rmsd if ad4[2] is None else ad4[2]}


# Vina's top pose is 6 Å off; Vinardo prefers rank 2 (0.5 Å); after local optimisation rank 3 wins.
# AutoDock4 prefers rank 3 as docked (4.0 Å) and rank 2 after its own local optimisation (moved to 0.7 Å).
POSES = [_pose(1, -7.0, -7.5, 6.0, ad4=(-5.0, -5.0, 6.1)), _pose(2, -8.0, -8.1, 0.5, 0.6, ad4=(-6.0, -9.0, 0.7)),
         _pose(3, -6.0, -9.0, 4.0, 3.9, ad4=(-7.0, -7.5, 4.2))]


def test_each_rule_picks_its_own_best_pose():
    assert pr.choose(POSES, "vina")[1] == 6.0
    assert pr.choose(POSES, "vinardo")[1] == 0.5
    assert pr.choose(POSES, "vinardo-local")[1] == 3.9  # the RMSD of the optimised pose
    # rank sums: pose 1 = 1 + 2, pose 2 = 2 + 1 (tie: the better Vina rank wins), pose 3 = 3 + 3
    assert pr.choose(POSES, "rank-sum")[0]["rank"] == 1
    assert pr.choose(POSES, "ad4") == (POSES[2], 4.0)
    assert pr.choose(POSES, "ad4-local") == (POSES[1], 0.7)  # the RMSD of the AD4-optimised pose


def test_summary_counts_successes_per_mode_and_rule():
    runs = [{"run": "X-site-1", "mode": "site", "seed": "1", "poses": POSES,
             "rivals": {"0.3": [2], "0.5": [2], "1.0": [2, 3]}},
            {"run": "Y-site-2", "mode": "site", "seed": "2", "poses": [_pose(1, -9.0, -9.0, 1.0), _pose(2, -10.0, -10.0, 3.0)]},
            {"run": "X-pocket-1", "mode": "pocket", "seed": "1", "poses": POSES}]  # fmt: skip
    summary = pr.summarise(runs)
    assert summary["rates"]["site"] == {"vina": 1, "vinardo": 1, "vinardo-local": 0, "rank-sum": 1, "ad4": 1,
                                        "ad4-local": 2, "runs": 2}  # fmt: skip
    # per seed, so that a rule chosen on one seed can be judged on another
    assert summary["seeds"]["site, seed 1"] == {"vina": 0, "vinardo": 1, "vinardo-local": 0, "rank-sum": 0, "ad4": 0,
                                                "ad4-local": 1, "runs": 1}  # fmt: skip
    assert list(summary["seeds"]) == ["pocket, seed 1", "site, seed 1", "site, seed 2"]
    assert summary["rates"]["pocket"]["vinardo"] == 1 and summary["table"][1]["best"] == 1.0
    # X (6 Å off) has a rival, Y (right) has none recorded: a clear top pose right 1/1, an unclear one 0/1
    assert summary["clarity"]["site 0.3"] == {"clear": 1, "clear_right": 1, "unclear": 1, "unclear_right": 0}
    assert "| site | 2 | 1/2 | 1/2 | 0/2 | 1/2 | 1/2 | 2/2 |" in pr.markdown({"date": "d", "commit": "c", "runs": runs,
                                                                "summary": summary})  # fmt: skip


def test_a_missing_kept_folder_is_one_line_and_exit_2(tmp_path, capsys):
    assert pr.main(["--kept", str(tmp_path / "none"), "--out", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "redock_bench.py --keep" in err and not (tmp_path / "o.json").exists()


def test_an_out_that_is_a_folder_is_refused_before_any_work(tmp_path, capsys):
    (tmp_path / "kept").mkdir()
    assert pr.main(["--kept", str(tmp_path / "kept"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a folder" in err


def test_an_empty_or_damaged_kept_folder_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert pr.main(["--kept", str(tmp_path / "empty"), "--out", str(tmp_path / "o.json")]) == 2
    assert "holds no kept site-mode runs" in capsys.readouterr().err
    pocket_only = tmp_path / "pocket" / "4CUP-pocket-142" / "out"  # kept, but not a run of the mode asked for
    pocket_only.mkdir(parents=True)
    (pocket_only / "X__ligand.dock.json").write_text("{}")
    assert pr.main(["--kept", str(tmp_path / "pocket"), "--out", str(tmp_path / "o.json")]) == 2
    assert "holds no kept site-mode runs" in capsys.readouterr().err
    one_run = tmp_path / "one" / "1A28-site-42"  # a single run's folder given instead of the folder of runs
    (one_run / "out").mkdir(parents=True)
    (one_run / "out" / "X__ligand.dock.json").write_text("{}")
    assert pr.main(["--kept", str(one_run), "--out", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"is one kept run; give the folder that holds the runs ({one_run.parent})" in err
    damaged = tmp_path / "bad" / "X-site-1" / "out"
    damaged.mkdir(parents=True)
    (damaged / "X__ligand.dock.json").write_text("garbage")
    assert pr.main(["--kept", str(tmp_path / "bad"), "--out", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a record of redock_bench.py --keep" in err
    (damaged / "X__ligand.dock.json").write_text('{"receptor": "X", "box": {"centre": [0, 0, 0], "size": [20, 20, 20]},'
                                                 ' "poses": [{"rank": 1, "vina_kcal_mol": -7.0, "pocket": "7"}]}')
    assert pr.main(["--kept", str(tmp_path / "bad"), "--out", str(tmp_path / "o.json")]) == 2  # no pocket 7 docked
    assert "not a record of redock_bench.py --keep (KeyError" in capsys.readouterr().err
    (damaged / "X__ligand.dock.json").write_text('{"receptor": "X", "box": {"centre": [0, 0, 0], "size": [20, 20, 20]},'
                                                 ' "poses": [{"rank": 1, "vina_kcal_mol": -7.0, "pocket": "site"}]}')  # no poses file
    assert pr.main(["--kept", str(tmp_path / "bad"), "--out", str(tmp_path / "o.json")]) == 2
    assert "needs its poses" in capsys.readouterr().err and not (tmp_path / "o.json").exists()


def test_runs_are_rescored_one_mode_at_a_time(tmp_path):
    for run in ("1A28-site-42", "1A28-B-site-142", "1A28-B-pocket-142", "4CUP-pocket-242", "empty-site-1"):
        (tmp_path / run / "out").mkdir(parents=True)
        if run != "empty-site-1":
            (tmp_path / run / "out" / "X__ligand.dock.json").write_text("{}")
    assert [d.name for d in pr.run_dirs(tmp_path)] == ["1A28-B-site-142", "1A28-site-42"]
    assert [d.name for d in pr.run_dirs(tmp_path, "pocket")] == ["1A28-B-pocket-142", "4CUP-pocket-242"]


def test_each_pose_is_scored_in_the_box_it_was_docked_in():
    """Pocket mode docks each pocket in its own box; a pose is rescored on maps of that box, not of the first."""
    box = {"centre": [0, 0, 0], "size": [20, 20, 20]}
    pockets = [{"rank": 1, "box": box}, {"rank": 2, "box": {"centre": [30, 0, 0], "size": [18, 18, 18]}}]
    record = {"box": box, "pockets_docked": pockets, "poses": [{"pocket": "2"}, {"pocket": "1"}, {"pocket": "2"}]}
    boxes = pr.pose_boxes(record)
    assert [b.centre for b in boxes] == [(30, 0, 0), (0, 0, 0), (30, 0, 0)] and boxes[0] == boxes[2]
    assert pr.pose_boxes({"box": box, "poses": [{"pocket": "site"}]})[0].size == (20, 20, 20)


def test_no_autogrid_is_one_line_and_exit_2_before_any_work(tmp_path, capsys, monkeypatch):
    (tmp_path / "kept").mkdir()
    monkeypatch.setattr(sys.modules["remyfold.dock.ad4_ranking"], "AUTOGRID", "autogrid4-not-installed")
    assert pr.main(["--kept", str(tmp_path / "kept"), "--out", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "apt-get install autogrid" in err and not (tmp_path / "o.json").exists()


def test_a_pocket_run_kept_without_its_crystal_ligand_takes_the_benchmarks_own(tmp_path):
    """Pocket-mode runs were kept without crystal.sdf; the RMSDs then use complexes.py's crystal ligand."""
    Chem = pytest.importorskip("rdkit.Chem")
    run = tmp_path / "1A28-pocket-42"
    run.mkdir()
    crystal = pr.kept_crystal(run, "1A28")
    assert crystal.GetNumHeavyAtoms() == 23  # progesterone, as the benchmark table lists it
    Chem.MolToMolFile(crystal, str(run / "crystal.sdf"))
    assert Chem.MolToSmiles(pr.kept_crystal(run, "1A28")) == Chem.MolToSmiles(crystal)
    assert pr.kept_crystal(tmp_path, "NOT-A-COMPLEX") is None
