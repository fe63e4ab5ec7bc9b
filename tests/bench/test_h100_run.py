"""The one-call GPU run of issue 12, rehearsed on the CPU with the tiny configuration (the whole
command, as the GPU session will call it), plus its budget, the README table and the precision rule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "gpu"
sys.path[:0] = [str(BENCH), str(BENCH.parent / "common")]

import precision_rule  # noqa: E402
import docs_table  # noqa: E402

from remyfold.precision import CUDA_DEFAULT_PRECISION, DriftLimits, choose_precision  # noqa: E402


def _env() -> dict:
    return os.environ | {"PYTHON": sys.executable, "OUT": ""}


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("h100")
    done = subprocess.run(["bash", str(BENCH / "h100_run.sh"), "--tiny", "--out-dir", str(out)], cwd=ROOT,
                          env=_env(), capture_output=True, text=True, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads((out / "rehearsal-tiny.json").read_text()), out


def test_rehearsal_runs_every_item(rehearsal):
    report, out = rehearsal
    assert report["complete"] and report["device"] == "cpu" and report["run"] == "h100"
    assert {name: entry["status"] for name, entry in report["items"].items()} == {
        name: "ok" for name in ("gpu_tests", "main", "long", "throughput", "drift", "components", "kernels")
    }
    assert not report["environment_check"]["missing"]
    tests = report["gpu_tests"]
    assert tests["returncode"] == 0 and tests["counts"].get("skipped", 0) > 0  # no CUDA here: all skipped
    rows = report["results"]
    assert {(r["impl"], r["precision"], r["length"]) for r in rows if r["group"] == "main"} == {
        (impl, p, n) for impl, p in (("reference", "fp32"), ("remyfold", "fp32"), ("remyfold", "bf16")) for n in (12, 20)
    }
    assert [(r["length"], r["chunk"]) for r in rows if r["group"] == "long"] == [(24, 8)]
    assert all(r["status"] == "ok" and r["floor_ratio"] > 0 for r in rows)
    t = report["throughput"]
    assert t["remyfold"]["folded"] == t["n"] == 6 and t["reference"]["sampled"] >= 1 and t["speedup"] > 0
    sample = [d for d in report["drift"] if d.get("set") == "throughput"]
    assert len(sample) == 3 and all(d["precision"] == "bf16" and d["ca_rmsd"] >= 0 for d in sample)
    for c in report["components"]:
        assert c["status"] == "ok" and c["trunk_passes"] == report["recycles"] + 1
        assert 0 < c["lm"] < c["total"] and c["trunk_per_pass"] > 0 and c["structure_module_per_pass"] > 0
    assert [c["precision"] for c in report["components"]] == ["bf16", "fp32"]
    assert report["kernels"]["cuequivariance"].startswith("not run: CUDA only")
    assert report["precision_rule"]["choice"] == "fp32" and not report["precision_rule"]["cuda"]
    page = (out / "rehearsal-tiny.md").read_text()
    assert "| main | 20 | remyfold | bf16 |" in page and "| components | ok |" in page


def test_readme_table_only_from_cuda_results(rehearsal, tmp_path):
    report, out = rehearsal
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{docs_table.START}\nPLACEHOLDER\n{docs_table.END}\n\ntail\n")
    # A CPU rehearsal is not GPU figures: exit 2, README untouched.
    assert docs_table.main([str(out / "rehearsal-tiny.json"), "--page", str(readme)]) == 2
    assert "PLACEHOLDER" in readme.read_text()
    # The generator itself, on the rehearsal's measured rows relabelled as a CUDA run (test only).
    relabelled = tmp_path / "cuda.json"
    relabelled.write_text(json.dumps(report | {"device": "cuda"}))
    assert docs_table.main([str(relabelled), "--page", str(readme)]) == 0
    text = readme.read_text()
    ref = next(r for r in report["results"] if r["impl"] == "reference" and r["length"] == 20)
    assert f"| 20 | {ref['seconds']:.2f} s / – GiB |" in text and "| 24 (chunked) | – |" in text
    assert text.endswith("\n\ntail\n") and "PLACEHOLDER" not in text
    assert docs_table.main([str(relabelled), "--page", str(readme), "--check"]) == 0
    verdict = precision_rule.rule_for([relabelled])
    assert verdict["cuda"] and verdict["choice"] in ("fp32", "bf16") and any("bf16" in r for r in verdict["reasons"])


def test_budget_skips_items_and_keeps_the_json(tmp_path):
    done = subprocess.run([sys.executable, str(BENCH / "h100.py"), "--tiny", "--items", "main,drift", "--budget", "0.5",
                           "--out-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "rehearsal-tiny.json").read_text())
    status = {name: entry["status"] for name, entry in report["items"].items()}
    assert status["main"].startswith("skipped: budget") and status["drift"].startswith("skipped: budget")
    assert status["gpu_tests"] == "not requested" and report["complete"] and report["results"] == []


def test_bad_items_exit_2(tmp_path):
    done = subprocess.run([sys.executable, str(BENCH / "h100.py"), "--tiny", "--items", "everything",
                           "--out-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and "--items" in done.stderr


def test_precision_rule_picks_fastest_within_limits():
    within = {"precision": "bf16", "ca_rmsd": 0.01, "max_plddt_diff": 0.2}
    outside = {"precision": "bf16", "ca_rmsd": 0.2, "max_plddt_diff": 0.2}
    seconds = {"fp32": 10.0, "bf16": 2.0}
    assert choose_precision([within, within], seconds)[0] == "bf16"
    assert choose_precision([within, outside], seconds)[0] == "fp32"  # the worst sequence decides
    assert choose_precision([within | {"max_plddt_diff": 0.6}], seconds)[0] == "fp32"
    assert choose_precision([within | {"ca_rmsd": None}], seconds)[0] == "fp32"
    assert choose_precision([], seconds)[0] == "fp32"
    assert choose_precision([within], {"fp32": 1.0, "bf16": 2.0})[0] == "fp32"  # not faster
    assert choose_precision([outside], seconds, DriftLimits(ca_rmsd=0.5, plddt=1.0))[0] == "bf16"


def test_committed_defaults_follow_the_committed_results():
    """The CUDA default precision and the README table are what the committed GPU results give (fp32 / none)."""
    assert precision_rule.rule_for([precision_rule.RESULTS])["choice"] == CUDA_DEFAULT_PRECISION
    assert docs_table.main(["--check"]) == 0
