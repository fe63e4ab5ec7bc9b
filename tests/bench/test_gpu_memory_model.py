"""The live-bytes memory model (bench/gpu/memory_model.py) on the tiny configuration (issue 23)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import torch
from tiny_models import tiny_config_dict

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu" / "memory_model.py"


def _load():
    spec = importlib.util.spec_from_file_location("memory_model", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_live_bytes_counts_new_storages_and_their_release():
    mm = _load()
    weight = torch.empty(100, device="meta")
    mode = mm.LiveBytes([weight])
    with mode:
        a = torch.empty(1000, device="meta")  # 4,000 bytes
        b = a.view(10, 100) * 2  # a new 4,000-byte storage (the view is not one)
        c = weight.view(10, 10)  # a view of a weight: not counted
        del a  # 4,000 live
        d = b + 1
        e = d * 3  # 12,000 live: the peak
        del b, c, d
        assert mode.live == 4_000
        del e
    assert mode.peak == 12_000 and mode.live == 0


def test_memory_model_on_the_tiny_config(tmp_path):
    mm = _load()
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tiny_config_dict()))
    out = tmp_path / "model.json"
    assert mm.main(["--config", str(config), "--lengths", "16,40", "--chunks", "none,8", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["commit"] and report["date"] and report["trunk_blocks_run"] == 2
    rows = {(r["length"], r["precision"], r["chunk"]): r for r in report["results"]}
    assert set(rows) == {(n, p, c) for n in (16, 40) for p in ("fp32", "bf16") for c in ("none", "8")}
    for r in rows.values():
        assert r["peak_gib"] > r["weights_gib"] > 0 and r["peak_stage"]
    for p in ("fp32", "bf16"):
        assert rows[40, p, "none"]["activations_gib"] > rows[16, p, "none"]["activations_gib"]
        assert rows[40, p, "8"]["activations_gib"] <= rows[40, p, "none"]["activations_gib"]
    assert rows[40, "bf16", "none"]["activations_gib"] < rows[40, "fp32", "none"]["activations_gib"]
    assert rows[40, "bf16", "none"]["weights_gib"] < rows[40, "fp32", "none"]["weights_gib"]
