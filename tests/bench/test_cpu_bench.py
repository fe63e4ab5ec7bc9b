"""The full-size CPU benchmark's scripts, run end to end on a tiny checkpoint (what CI can afford)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "cpu"


def tiny_checkpoint(tmp_path: Path, *flags: str) -> Path:
    """A tiny random checkpoint written by ``bench/cpu/checkpoint.py`` (with its command-line ``flags``)."""
    weights = tmp_path / "w"
    subprocess.run([sys.executable, str(BENCH / "checkpoint.py"), "--config", "tiny", "--out", str(weights), *flags],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    return weights


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    """One tiny checkpoint (default flags) that the benchmark runs below only read."""
    pytest.importorskip("transformers")
    return tiny_checkpoint(tmp_path_factory.mktemp("tiny_checkpoint"))


def _stored_dtypes(weights: Path) -> dict[str, set[str]]:
    """Dtypes in the safetensors header, for the language model (``esm.``) and the rest."""
    raw = (weights / "model.safetensors").read_bytes()
    header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    header.pop("__metadata__")
    dtypes: dict[str, set[str]] = {"esm": set(), "rest": set()}
    for key, entry in header.items():
        if entry["dtype"] in ("F16", "F32"):
            dtypes["esm" if key.startswith("esm.") else "rest"].add(entry["dtype"])
    return dtypes


@pytest.mark.parametrize("flags, lm", [((), "F16"), (("--lm-fp32",), "F32")])
def test_checkpoint_stores_the_language_model_as_asked(tmp_path, flags, lm):
    pytest.importorskip("transformers")
    weights = tiny_checkpoint(tmp_path, *flags)
    assert _stored_dtypes(weights) == {"esm": {lm}, "rest": {"F32"}}
    assert json.loads((weights / "config.json").read_text())["esmfold_config"]["fp16_esm"] == (lm == "F16")


def test_tiny_checkpoint_then_side_by_side_run(weights, tmp_path):
    out, md = tmp_path / "r.json", tmp_path / "r.md"
    done = subprocess.run(
        [sys.executable, str(BENCH / "cpu_bench.py"), "--weights", str(weights), "--threads", "1",
         "--schedule", "remyfold:12+20,reference-lm-fp32:12,reference:20", "--out", str(out), "--markdown", str(md)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["complete"] and [w["label"] for w in report["workers"]] == ["remyfold", "reference-lm-fp32", "reference"]
    assert all(w["status"] == "ok" and w["threads"] == 1 for w in report["workers"])
    remy, ref32, ref = report["workers"]
    assert [r["length"] for r in remy["results"]] == [12, 20]
    assert remy["lm_dtype"] == "float16" and ref["lm_dtype"] == "float16" and ref32["lm_dtype"] == "float32"
    for row in remy["results"]:
        assert row["seconds"] > 0 and row["fold_peak_rss_gib"] > 0 and row["floor_multiple"] > 1
    assert remy["ready_seconds"] > 0 and remy["load_peak_rss_gib"] > 0
    # The same weights give the same structures: the fp32 reference agrees with remyfold.
    agreement = {(a["b"], a["length"]): a for a in report["agreement"]}
    assert agreement[("reference-lm-fp32", 12)]["ca_rmsd"] < 1e-2
    assert ("reference", 20) in agreement
    assert "| 12 | reference-lm-fp32 |" in md.read_text()


def test_paged_and_cold_runs_with_one_pass(weights, tmp_path):
    """Paged and held workers fold alike; each fold records the page cache, the RSS before it and the plan."""
    out = tmp_path / "r.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "cpu_bench.py"), "--weights", str(weights), "--threads", "1", "--max-memory", "8G",
         "--schedule", "remyfold-held:12@1,remyfold-paged:12@1+20,remyfold-paged-cold:12@1,"
         "remyfold-paged-prefetch:12@1,remyfold-held-matmul-core:12@1", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    held, paged, cold, prefetch, matmul_core = report["workers"]
    assert not paged["prefetch"] and prefetch["prefetch"] and matmul_core["attention_core"] == "matmul"
    assert [(r["length"], r["passes"]) for r in paged["results"]] == [(12, 1), (20, "default")]
    assert [r["plan"]["paged"] for r in held["results"] + paged["results"]] == [False, True, True]
    assert paged["paging"] == "on" and cold["evict"] and held["max_memory"] == 8 << 30
    for row in held["results"] + paged["results"] + cold["results"]:
        assert 0 <= row["page_cache_fraction"] <= 1 and row["rss_before_gib"] > 0
    agreement = {(a["b"], a["length"]): a for a in report["agreement"]}
    for label in ("remyfold-paged", "remyfold-paged-cold", "remyfold-paged-prefetch", "remyfold-held-matmul-core"):
        # identical numbers (superposition adds rounding; at 12 residues auto's core is matmul too)
        assert agreement[(label, 12)]["ca_rmsd"] < 1e-4 and agreement[(label, 12)]["max_plddt_diff"] == 0


@pytest.mark.parametrize("text", ["remyfold:12@0", "remyfold:x", "remyfold:", "nope:12"])
def test_bad_schedules_are_refused(text):
    sys.path.insert(0, str(BENCH))
    from cpu_bench import parse_schedule

    with pytest.raises(Exception, match="expected KIND"):
        parse_schedule(text)


def test_bad_weights_exit_2(tmp_path):
    done = subprocess.run([sys.executable, str(BENCH / "cpu_bench.py"), "--weights", str(tmp_path), "--out",
                           str(tmp_path / "r.json")], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and "checkpoint.py" in done.stderr


def test_attention_ab_on_a_tiny_checkpoint(weights, tmp_path):
    out, md = tmp_path / "a.json", tmp_path / "a.md"
    done = subprocess.run(
        [sys.executable, str(BENCH / "cpu_attention.py"), "--weights", str(weights), "--threads", "1",
         "--lengths", "10,14", "--rounds", "2", "--out", str(out), "--markdown", str(md)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    seconds = json.loads(out.read_text())["seconds"]
    assert sorted(seconds) == ["10", "14"]
    assert all(len(times) == 4 and min(times) > 0 for by_kind in seconds.values() for times in by_kind.values())
    assert "| 14 |" in md.read_text()


def test_traced_fold_names_its_phases_and_a_probe_cuts_the_trunk(weights, tmp_path, monkeypatch):
    """A traced fold records a peak per phase; a probe runs only its first trunk blocks, and the benchmark
    gives it no FLOP floor and no drift row (what ran is not the model)."""
    monkeypatch.syspath_prepend(str(BENCH))
    from cpu_worker import Remyfold

    spec = {"precision": "fp32", "attention": "auto", "threads": 1, "paging": "on", "trace": True}
    whole, probe = Remyfold(str(weights), spec), Remyfold(str(weights), spec | {"trunk_blocks": 1})
    blocks = len(whole.folder.model.trunk.blocks)
    assert blocks >= 2 and len(probe.folder.model.trunk.blocks) == 1
    rows = {}
    for name, runner in (("whole", whole), ("probe", probe)):
        rows[name] = {}
        runner.traced_fold("MKTAYIAKQR", 1, rows[name])
    phases = list(rows["whole"]["phase_peaks_gib"])
    assert phases[1:] == ["language model", *(f"trunk block {i}" for i in range(blocks)), "after the trunk"]
    assert rows["probe"]["phase_summary_gib"]["trunk blocks"] == 1
    assert all(gib > 0 for gib in rows["whole"]["phase_peaks_gib"].values())

    out = tmp_path / "r.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "cpu_bench.py"), "--weights", str(weights), "--threads", "1",
         "--schedule", "remyfold-paged-trace:12@1,remyfold-paged-probe:12@1", "--out", str(out),
         "--markdown", str(tmp_path / "r.md")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    traced, cut = report["workers"]
    assert traced["results"][0]["floor_multiple"] > 0 and cut["results"][0]["floor_multiple"] is None
    assert report["agreement"] == []  # the probe's outputs are never compared
    assert "not a prediction" in (tmp_path / "r.md").read_text()


def test_block_profile_on_a_tiny_checkpoint_and_outputs_checked_before_work(weights, tmp_path):
    """block_profile writes its classes and floor; both scripts refuse an --out that is a folder, before any fold."""
    out = tmp_path / "p.json"
    done = subprocess.run([sys.executable, str(BENCH / "block_profile.py"), "--weights", str(weights), "--length", "8",
                           "--repeats", "1", "--threads", "1", "--out", str(out)], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["floor_multiple"] > 0 and report["profile"]["classes"]["matmul"] > 0
    for script, extra in (("block_profile.py", []), ("cpu_bench.py", ["--schedule", "remyfold:12@1"])):
        refused = subprocess.run([sys.executable, str(BENCH / script), "--weights", str(weights), "--out", str(tmp_path),
                                  *extra], capture_output=True, text=True, timeout=120)  # fmt: skip
        assert refused.returncode == 2 and "is a folder" in refused.stderr and "Traceback" not in refused.stderr


def test_attention_core_ab_on_a_tiny_checkpoint(weights, tmp_path):
    """attention_core times both cores alternated, their outputs agree, and a bad --lengths is refused."""
    out, md = tmp_path / "a.json", tmp_path / "a.md"
    done = subprocess.run([sys.executable, str(BENCH / "attention_core.py"), "--weights", str(weights), "--lengths", "8,12",
                           "--rounds", "2", "--threads", "1", "--out", str(out), "--markdown", str(md)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    assert [row["length"] for row in report["rows"]] == [8, 12]
    for row in report["rows"]:
        assert {core: len(times) for core, times in row["seconds"].items()} == {"matmul": 2, "sdpa": 2}
        assert row["max_abs_diff"] < 1e-4
    assert "| 12 |" in md.read_text()
    refused = subprocess.run([sys.executable, str(BENCH / "attention_core.py"), "--weights", str(weights), "--lengths",
                              "0", "--out", str(out)], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert refused.returncode == 2 and "Traceback" not in refused.stderr


def test_cache_blocks_ab_on_a_tiny_checkpoint(weights, tmp_path):
    """cache_blocks times a block with each block size alternated, the outputs agree, bad --sizes are refused."""
    out, md = tmp_path / "c.json", tmp_path / "c.md"
    done = subprocess.run([sys.executable, str(BENCH / "cache_blocks.py"), "--weights", str(weights), "--length", "12",
                           "--sizes", "0.001,2", "--rounds", "2", "--threads", "1", "--out", str(out),
                           "--markdown", str(md)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    assert [row["setting"] for row in report["rows"]] == ["rows", "cache-0.001", "cache-2"]
    for row in report["rows"]:
        assert len(row["seconds"]) == 2 and row["max_abs_diff_from_rows"] < 1e-4 and row["best_floor_multiple"] > 0
    assert "| cache-0.001 |" in md.read_text()
    for bad in ("0", "2,x"):
        refused = subprocess.run([sys.executable, str(BENCH / "cache_blocks.py"), "--weights", str(weights), "--sizes",
                                  bad, "--out", str(out)], capture_output=True, text=True, timeout=120)  # fmt: skip
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
