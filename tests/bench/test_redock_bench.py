"""bench/dock/redock_bench.py: a rerun (``--redo``) replaces one run's rows and leaves every other row."""

from __future__ import annotations

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


@pytest.mark.parametrize("deadline", ["abc", "25:00", "12", "12:61"])
def test_a_deadline_that_is_not_a_time_is_a_usage_error(deadline, monkeypatch, tmp_path):
    """A bad ``--deadline`` once raised a traceback after the complexes were loaded; now argparse refuses it."""
    monkeypatch.setattr(rb, "OUT", tmp_path)
    monkeypatch.setattr(sys, "argv", ["redock_bench.py", "--only", "1A28", "--deadline", deadline])
    with pytest.raises(SystemExit) as stop:
        rb.main()
    assert stop.value.code == 2
