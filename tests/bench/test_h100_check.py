"""The prepared H100 check of issue 23 (bench/gpu/h100_check.sh), rehearsed whole on the CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_rehearsal_runs_every_item(tmp_path):
    env = os.environ | {"PYTHON": sys.executable, "OUT": ""}
    done = subprocess.run(["bash", str(ROOT / "bench/gpu/h100_check.sh"), "--tiny", "--budget", "600",
                           "--out-dir", str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=700)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "h100-check-rehearsal.json").read_text())
    assert report["complete"] and report["device"] == "cpu" and report["commit"]
    assert {k: v["status"] for k, v in report["items"].items()} == dict.fromkeys(
        ("gpu_tests", "main", "long", "kernels", "drift"), "ok")
    assert report["items"]["gpu_tests"]["returncode"] == 0
    rows = report["items"]["main"]["rows"]
    assert [r.get("precision") for r in rows] == [None, "fp32", "bf16"]  # tf32 is CUDA only
    assert all(r["seconds"] > 0 for r in rows) and all(r["speedup"] > 0 for r in rows[1:])
    long = report["items"]["long"]
    assert long["seconds"] > 0 and long["model_peak_gib"] > 0
    assert report["items"]["kernels"]["top"] and report["items"]["drift"]["rule_choice"] in ("fp32", "bf16")
    assert [r["precision"] for r in report["items"]["drift"]["rows"]] == ["bf16"]
