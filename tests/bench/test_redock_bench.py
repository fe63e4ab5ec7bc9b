"""bench/dock/redock_bench.py: a rerun (``--redo``) replaces one run's rows and leaves every other row."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

import pytest

pytest.importorskip("rdkit")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "dock"))
import redock_bench as rb  # noqa: E402


def test_drop_rows_removes_one_complex_mode_and_seed_from_both_tables(tmp_path):
    runs, poses = tmp_path / "runs.tsv", tmp_path / "poses.tsv"
    runs.write_text("name\tmode\tseed\ttop\n3MHT\tsite\t42\t1.7\n3MHT\tsite\t142\t3.4\n3MHT\tpocket\t42\t1.6\n")
    poses.write_text("name\tmode\tseed\trank\n3MHT\tsite\t42\t1\n3MHT\tsite\t42\t2\n1A28\tsite\t42\t1\n")
    rb.drop_rows(("3MHT", "site", "42"), (runs, poses))
    assert runs.read_text() == "name\tmode\tseed\ttop\n3MHT\tsite\t142\t3.4\n3MHT\tpocket\t42\t1.6\n"
    assert poses.read_text() == "name\tmode\tseed\trank\n1A28\tsite\t42\t1\n"
    rb.drop_rows(("1HPV", "site", "42"), (runs, poses, tmp_path / "absent.tsv"))  # nothing to drop: unchanged
    assert poses.read_text() == "name\tmode\tseed\trank\n1A28\tsite\t42\t1\n"



@pytest.mark.parametrize("option", ["--only", "--redo"])
def test_a_name_that_is_not_a_complex_is_refused_before_any_run_or_report(option, monkeypatch, tmp_path):
    """``--only NOPE`` once ran nothing and rewrote the report as "complete"; now it exits 2, the report untouched."""
    monkeypatch.setattr(rb, "OUT", tmp_path)
    monkeypatch.setattr(sys, "argv", ["redock_bench.py", option, "NOPE"])
    with pytest.raises(SystemExit) as stop:
        rb.main()
    assert stop.value.code == 2
    assert not (tmp_path / "redock.md").exists()


def test_a_deadline_is_the_next_time_the_clock_reads_it():
    """``--deadline 00:55`` given at 23:59 once stopped the run before its first complex."""
    late = datetime.datetime(2026, 12, 7, 23, 59, tzinfo=datetime.timezone.utc)
    assert rb._deadline("00:55", late) == datetime.datetime(2026, 12, 8, 0, 55, tzinfo=datetime.timezone.utc)
    assert rb._deadline("23:59", late) == late + datetime.timedelta(days=1)
    morning = datetime.datetime(2026, 12, 7, 8, 0, 30, tzinfo=datetime.timezone.utc)
    assert rb._deadline("21:35", morning) == datetime.datetime(2026, 12, 7, 21, 35, tzinfo=datetime.timezone.utc)
    assert rb._deadline(None, morning) is None


@pytest.mark.parametrize("deadline", ["abc", "25:00", "12", "12:61"])
def test_a_deadline_that_is_not_a_time_is_a_usage_error(deadline, monkeypatch, tmp_path):
    """A bad ``--deadline`` once raised a traceback after the complexes were loaded; now argparse refuses it."""
    monkeypatch.setattr(rb, "OUT", tmp_path)
    monkeypatch.setattr(sys, "argv", ["redock_bench.py", "--only", "1A28", "--deadline", deadline])
    with pytest.raises(SystemExit) as stop:
        rb.main()
    assert stop.value.code == 2


def test_a_table_written_before_a_column_existed_gets_the_new_header_and_keeps_every_value(tmp_path):
    runs = tmp_path / "runs.tsv"
    runs.write_text("name\tmode\tseed\ttop_rmsd\n1A28\tsite\t42\t0.34\n4CUP\tpocket\t142\t7.81\n")
    rb.upgrade_header(runs, ("name", "mode", "seed", "top_rmsd", "top_clear", "error"))
    assert runs.read_text() == ("name\tmode\tseed\ttop_rmsd\ttop_clear\terror\n1A28\tsite\t42\t0.34\t\t\n"
                                "4CUP\tpocket\t142\t7.81\t\t\n")
    rb.append_row({"name": "1S3V", "mode": "site", "seed": "42", "top_rmsd": "6.49", "top_clear": "no", "error": ""},
                  runs, ("name", "mode", "seed", "top_rmsd", "top_clear", "error"))
    assert runs.read_text().splitlines()[-1] == "1S3V\tsite\t42\t6.49\tno\t"
    with pytest.raises(SystemExit, match="not among"):  # a column the new header lacks: refused, file unchanged
        rb.upgrade_header(runs, ("name", "mode", "seed"))
    assert runs.read_text().count("\n") == 4


def _row(name, mode, rmsd, clear, error=""):
    return {"name": name, "mode": mode, "seed": "42", "top_rmsd": rmsd, "top_clear": clear, "error": error}


def test_the_trust_table_counts_wrong_top_poses_without_a_warning_apart():
    import redock_report

    rows = [_row("A", "site", "0.5", "yes"), _row("B", "site", "1.9", "no"), _row("C", "site", "6.5", "no"),
            _row("D", "site", "3.4", "yes"), _row("E", "site", "0.4", ""), _row("F", "site", "-", "-", "no pocket"),
            _row("G", "pocket", "7.4", "no")]
    site, pocket = redock_report.trust_table(rows)[2:]
    # runs | right clear | right warned | wrong warned | wrong, no warning | clear right | not recorded | error
    assert site == "| site | 6 | 1 | 1 | 1 | **1** | 1/2 | 1 | 1 |"
    assert pocket == "| pocket | 1 | 0 | 0 | 1 | **0** | – | 0 | 0 |"


def test_ad4_runs_keep_tables_of_their_own_and_compare_with_vinas_order_on_the_same_searches(tmp_path):
    """--ranking ad4 never touches the Vina tables; its report counts Vina's first pose of the same runs."""
    from redock_report import write_report

    from remyfold.dock.vina_dock import DockSettings

    assert rb.TABLES["ad4"].runs != rb.RUNS and rb.TABLES["ad4"].poses != rb.POSES
    assert set(rb.TABLES["vina"].columns) < set(rb.TABLES["ad4"].columns)
    assert rb._settings_key(DockSettings(ranking="ad4")) == rb._settings_key(DockSettings()) + "/ranking-ad4"
    poses = tmp_path / "poses.tsv"
    lines = ["name\tmode\tseed\trank\trmsd\tvina_rank", "1UOU\tsite\t42\t1\t1.60\t8", "1UOU\tsite\t42\t8\t7.09\t1",
             "1A28\tsite\t42\t1\t0.34\t1", "1A28\tsite\t42\t2\t6.90\t2"]
    poses.write_text("\n".join(lines) + "\n")
    tops = rb.vina_tops(poses)
    assert tops == {("1UOU", "site", "42"): "7.09", ("1A28", "site", "42"): "0.34"}
    row = {c: "–" for c in rb.TABLES["ad4"].columns} | {"mode": "site", "seed": "42", "error": "", "top_clear": "no",
                                                         "top_posebusters": "yes", "excluded_residues": "0",
                                                         "seconds": "80", "commit": "abc"}  # fmt: skip
    rows = [row | {"name": "1UOU", "top_rmsd": "1.60", "best_rmsd": "1.60"},
            row | {"name": "1A28", "top_rmsd": "0.34", "best_rmsd": "0.34", "top_clear": "yes"}]
    out = tmp_path / "redock-ad4.md"
    write_report(rows, [], [], DockSettings(ranking="ad4"), out, tops)
    text = out.read_text()
    assert "poses ranked by AutoDock4" in text and "| site | 2 | 2/2 (100 %)" in text
    assert "in Vina's order (the pose Vina ranked first), top pose ≤ 2 Å: site 1/2; pocket 0/0." in text
    assert "| 1UOU | site | 42 |" in text and text.split("| 1UOU | site | 42 |")[1].splitlines()[0].endswith("| 7.09 |")
