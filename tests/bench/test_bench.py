"""bench/: the analytic FLOP counter, the drift measure and one tiny end-to-end CPU run of bench.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "bench" / "gpu"
sys.path[:0] = [str(BENCH), str(BENCH.parent / "common")]

import flops  # noqa: E402

from remyfold.model import ESMFold, FoldingConfig  # noqa: E402
from remyfold.model.config import EsmConfig  # noqa: E402


@pytest.fixture(scope="module")
def tiny_config():
    import models

    return FoldingConfig.from_hf_dict(models.model_config("tiny", torch.device("cpu")))


def test_language_model_flops_by_hand():
    # 1 layer, D=4, F=8, T=4 tokens: projections 4·2·T·D² = 512, QKᵀ + AV 2·2·T²·D = 256, FFN 2·2·T·D·F = 512.
    esm = EsmConfig(hidden_size=4, num_layers=1, num_heads=2, intermediate_size=8)
    assert flops.language_model_flops(esm, 4) == 1280
    three_layers = EsmConfig(hidden_size=4, num_layers=3, num_heads=2, intermediate_size=8)
    assert flops.language_model_flops(three_layers, 4) == 3840


def test_trunk_grows_cubically(tiny_config):
    trunk = tiny_config.trunk
    small, double = (flops.trunk_flops_per_recycle(trunk, n) for n in (2000, 4000))
    # The L³·C_z terms dominate at long lengths: doubling L gives nearly 8×.
    assert 7.5 < double / small <= 8.0
    f = flops.prediction_flops(tiny_config, 50, 3)
    assert f["passes"] == 4
    assert f["total"] == f["lm"] + 4 * (f["trunk_per_recycle"] + f["structure_module_per_recycle"]) + f["heads"]


@pytest.mark.parametrize("length", [12, 33])
def test_count_matches_torch_flop_counter(tiny_config, length):
    """Every matmul of the real network is counted: torch's counter sees only the 3×3 frame algebra more."""
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    model = ESMFold(tiny_config).eval()
    aatype = torch.randint(0, 20, (1, length))
    mask = torch.ones(1, length, dtype=torch.bool)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(aatype, mask, torch.arange(length)[None], num_recycles=1)
    ratio = flops.prediction_flops(tiny_config, length, 1)["total"] / counter.get_total_flops()
    assert 0.98 < ratio <= 1.0


def test_floor_seconds():
    f = {"lm": 2e12, "total": 10e12}
    assert flops.floor_seconds(f, 1.0, 4.0) == pytest.approx(2.0 + 2.0)


def _prediction(positions, plddt, ptm):
    from remyfold.prediction import Chain, Prediction

    n = len(positions)
    mask = np.zeros((n, 37), bool)
    mask[:, :3] = True
    full = np.zeros((n, 37, 3))
    full[:, :3] = positions
    return Prediction(id="x", chains=[Chain("A", "G" * n)], aatype=np.zeros(n, int), positions=full, atom_mask=mask,
                      plddt=np.repeat(plddt[:, None], 37, axis=1), pae=np.zeros((n, n)), ptm=ptm,
                      chain_index=np.zeros(n, int), residue_number=np.arange(1, n + 1), num_recycles=0)  # fmt: skip


def test_drift_row_superposes_before_rmsd():
    import bench

    rng = np.random.default_rng(0)
    coords = rng.normal(size=(10, 3, 3)) * 5
    angle = 0.7
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    plddt = rng.uniform(50, 90, 10)
    base = _prediction(coords, plddt, 0.5)
    moved = _prediction(coords @ rot.T + 3.0, plddt + np.linspace(0, 2, 10), 0.52)
    row = bench.drift_row(10, "bf16", moved, base)
    assert row["all_atom_rmsd"] < 1e-6 and row["ca_rmsd"] < 1e-6
    assert row["max_plddt_diff"] == pytest.approx(2.0)
    assert row["ptm_diff"] == pytest.approx(0.02)
    shifted = coords.copy()
    shifted[0, 1] += 1.0
    assert bench.drift_row(10, "bf16", _prediction(shifted, plddt, 0.5), base)["ca_rmsd"] > 0.05


def _run_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCH / "bench.py"), *args], capture_output=True, text=True, timeout=300)


def test_tiny_cpu_run(tmp_path):
    from remyfold.settings import CUDA_ONLY_PRECISIONS, PRECISIONS

    PRECISIONS = tuple(p for p in PRECISIONS if p not in CUDA_ONLY_PRECISIONS)  # what the bench runs by default
    out, md = tmp_path / "r.json", tmp_path / "r.md"
    done = _run_bench("--config", "tiny", "--device", "cpu", "--lengths", "16,24", "--recycles", "1", "--repeats", "1",
                      "--throughput", "4", "--throughput-lengths", "10,30", "--long", "--long-lengths", "28",
                      "--long-ref-max", "28", "--out", str(out), "--markdown", str(md))  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    for key in ("device", "device_name", "driver", "torch", "transformers", "commit", "date", "matmul_tflops"):
        assert key in report
    assert report["complete"] and report["device"] == "cpu" and report["matmul_tflops"]["fp32"] > 0
    rows = report["results"]
    assert {(r["impl"], r["length"]) for r in rows if r["group"] == "main"} == {
        (impl, n) for impl in ("reference", "remyfold") for n in (16, 24)
    }
    assert all(r["status"] == "ok" and r["seconds"] > 0 and r["floor_ratio"] > 0 for r in rows)
    assert all(r["flops"]["total"] > r["flops"]["lm"] > 0 for r in rows)
    main = [s for s in report["speedup"] if s["group"] == "main"]
    assert [s["length"] for s in main] == [16, 24]
    assert all(set(s["remyfold"]) == set(PRECISIONS) and min(s["remyfold"].values()) > 0 for s in main)
    assert any(s["group"] == "long" and s["length"] == 28 for s in report["speedup"])
    throughput = report["throughput"]
    assert throughput["n"] == 4 and throughput["speedup"] > 0 and throughput["reference"]["sampled"] == 4
    drift = report["drift"]
    assert len(drift) == 2 * (len(PRECISIONS) - 1)
    for d in drift:
        assert {"length", "precision", "all_atom_rmsd", "ca_rmsd", "max_plddt_diff", "ptm_diff"} <= set(d)
        assert d["precision"] != "fp32" and d["all_atom_rmsd"] >= 0
    table = md.read_text()
    assert "| main | 24 | remyfold | fp32 |" in table
    rerendered = tmp_path / "again.md"
    assert _run_bench("--from-json", str(out), "--markdown", str(rerendered)).returncode == 0
    assert rerendered.read_text() == table


def test_bad_options_exit_2(tmp_path):
    done = _run_bench("--config", "tiny", "--precisions", "fp64", "--out", str(tmp_path / "x.json"))
    assert done.returncode == 2
    assert not (tmp_path / "x.json").exists()
