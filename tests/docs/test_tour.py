"""``docs/tour.md`` runs as written: every ```sh block, in order, offline, on the shipped 1A28 example.

The commands run in a temporary folder holding a link to the clone's ``examples/``, through the
same interpreter (``remyfold`` is a shell function calling ``python -m remyfold.cli``), so
the page cannot drift from what the commands do.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOUR = ROOT / "docs" / "tour.md"


def tour_commands() -> list[str]:
    """The lines of the ```sh blocks of the tour, in order."""
    blocks = re.findall(r"^```sh\n(.*?)^```", TOUR.read_text(encoding="utf-8"), flags=re.M | re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_tour_has_the_four_steps():
    commands = tour_commands()
    assert [shlex.split(c)[1] for c in commands] == ["compare", "pockets", "dock", "report"]
    assert all(shlex.split(c)[0] == "remyfold" for c in commands)


@pytest.mark.slow
def test_tour_runs(tmp_path):
    pytest.importorskip("vina")
    pytest.importorskip("meeko")
    pytest.importorskip("pyKVFinder")
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    prelude = f'remyfold() {{ {shlex.quote(sys.executable)} -m remyfold.cli "$@"; }}\n'
    outputs = []
    for command in tour_commands():
        done = subprocess.run(["bash", "-c", prelude + command], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, f"{command}\n{done.stderr}"
        assert "Traceback" not in done.stderr
        outputs.append(done.stdout)
    compare, pockets, dock, report = outputs
    assert float(compare.splitlines()[-1].split()[1]) > 0.95  # TM-score of chain B against chain A
    top = pockets.splitlines()[1]
    assert top.split()[0] == "1" and "A:LEU715" in top and "A:MET756" in top
    score = float(dock.split("\t")[2].split()[0])
    assert score < -8.0  # kcal/mol
    assert report.strip() == "tour-dock/report.html"
    html = (tmp_path / "tour-dock" / "report.html").read_text(encoding="utf-8")
    assert "progesterone" in html and 'id="summary"' not in html  # docking only: no empty predictions table
    assert sorted(p.name for p in tmp_path.iterdir()) == ["examples", "tour-dock"]  # nothing else written
