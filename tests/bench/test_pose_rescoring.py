"""bench/dock/pose_rescoring.py: the rules that rank a run's poses again, and its refusal of a bad folder."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "dock"))
import pose_rescoring as pr  # noqa: E402


def _pose(rank, vinardo, local, rmsd, rmsd_local=None):
    return {"rank": rank, "vina": -10.0 + rank, "vinardo": vinardo, "vinardo_local": local, "rmsd": rmsd,
            "rmsd_local": rmsd if rmsd_local is None else rmsd_local}


# Vina's top pose is 6 Å off; Vinardo prefers rank 2 (0.5 Å); after local optimisation rank 3 wins.
POSES = [_pose(1, -7.0, -7.5, 6.0), _pose(2, -8.0, -8.1, 0.5, 0.6), _pose(3, -6.0, -9.0, 4.0, 3.9)]


def test_each_rule_picks_its_own_best_pose():
    assert pr.choose(POSES, "vina")[1] == 6.0
    assert pr.choose(POSES, "vinardo")[1] == 0.5
    assert pr.choose(POSES, "vinardo-local")[1] == 3.9  # the RMSD of the optimised pose
    # rank sums: pose 1 = 1 + 2, pose 2 = 2 + 1 (tie: the better Vina rank wins), pose 3 = 3 + 3
    assert pr.choose(POSES, "rank-sum")[0]["rank"] == 1


def test_summary_counts_successes_per_mode_and_rule():
    runs = [{"run": "X-site-1", "mode": "site", "poses": POSES, "rivals": {"0.3": [2], "0.5": [2], "1.0": [2, 3]}},
            {"run": "Y-site-1", "mode": "site", "poses": [_pose(1, -9.0, -9.0, 1.0), _pose(2, -10.0, -10.0, 3.0)]},
            {"run": "X-pocket-1", "mode": "pocket", "poses": POSES}]  # fmt: skip
    summary = pr.summarise(runs)
    assert summary["rates"]["site"] == {"vina": 1, "vinardo": 1, "vinardo-local": 0, "rank-sum": 1, "runs": 2}
    assert summary["rates"]["pocket"]["vinardo"] == 1 and summary["table"][1]["best"] == 1.0
    # X (6 Å off) has a rival, Y (right) has none recorded: a clear top pose right 1/1, an unclear one 0/1
    assert summary["clarity"]["site 0.3"] == {"clear": 1, "clear_right": 1, "unclear": 1, "unclear_right": 0}
    assert "| site | 2 | 1/2 | 1/2 | 0/2 | 1/2 |" in pr.markdown({"date": "d", "commit": "c", "runs": runs,
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
    assert "holds no kept runs" in capsys.readouterr().err
    pocket_only = tmp_path / "pocket" / "4CUP-pocket-142" / "out"  # kept, but pocket-mode runs are not rescored
    pocket_only.mkdir(parents=True)
    (pocket_only / "X__ligand.dock.json").write_text("{}")
    assert pr.main(["--kept", str(tmp_path / "pocket"), "--out", str(tmp_path / "o.json")]) == 2
    assert "pocket-mode runs are not rescored" in capsys.readouterr().err
    damaged = tmp_path / "bad" / "X-site-1" / "out"
    damaged.mkdir(parents=True)
    (damaged / "X__ligand.dock.json").write_text("garbage")
    assert pr.main(["--kept", str(tmp_path / "bad"), "--out", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a record of redock_bench.py --keep" in err
    (damaged / "X__ligand.dock.json").write_text('{"receptor": "X", "box": {"centre": [0, 0, 0], "size": [20, 20, 20]},'
                                                 ' "poses": [{"rank": 1, "vina_kcal_mol": -7.0}]}')  # no poses file
    assert pr.main(["--kept", str(tmp_path / "bad"), "--out", str(tmp_path / "o.json")]) == 2
    assert "needs its poses" in capsys.readouterr().err and not (tmp_path / "o.json").exists()


def test_only_site_given_runs_are_rescored(tmp_path):
    """A pocket-mode run's poses come from several boxes: it is not rescored in one (and has no crystal.sdf)."""
    for run in ("1A28-site-42", "1A28-B-site-142", "1A28-B-pocket-142", "4CUP-pocket-242", "empty-site-1"):
        (tmp_path / run / "out").mkdir(parents=True)
        if run != "empty-site-1":
            (tmp_path / run / "out" / "X__ligand.dock.json").write_text("{}")
    assert [d.name for d in pr.run_dirs(tmp_path)] == ["1A28-B-site-142", "1A28-site-42"]
