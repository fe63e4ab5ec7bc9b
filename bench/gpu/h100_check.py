"""The one short H100 check of issue 23; ``bench/gpu/h100_check.sh`` calls it (``--tiny``: CPU rehearsal).

Items in order, the JSON rewritten after each (a run cut short keeps what it measured):

1. ``gpu_tests``: ``pytest tests/model/test_fused_attention.py tests/api/test_gpu.py -k "not compiled"`` (on
   CUDA the fold runs with SDPA's math backend disallowed: a fallback fails loudly; the inductor
   compile test is left to the issue-12 run for time).
2. ``main``: esmfold_v1 with random weights at 1,024 residues, 3 recycles: the reference (fp16 LM,
   TF32, as bench/bench.py sets it up) and remyfold fp32 (the default), tf32 and bf16, one timed
   fold each after a short warm-up; seconds, peak GiB, chunk size, speed-up over the reference.
3. ``long``: 4,096 residues in bf16 with the memory model's chunk (bench/results/gpu-memory-model.json):
   seconds and peak GiB against the model's prediction, and the chunk the device rule would pick.
4. ``kernels``: the top device kernels of one default fold at 1,024 (bench/components.top_kernels).
5. ``drift``: each mode against fp32 (Cα RMSD, |ΔpLDDT|) and the precision rule's verdict.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH / "gpu"))

from bench import drift_row  # noqa: E402
from components import top_kernels  # noqa: E402
from measure import ROOT, environment, measure, release, tf32  # noqa: E402
from models import build_reference, build_remyfold, model_config, random_sequence, reference_forward  # noqa: E402

FULL = {"config": "full", "main": 1024, "long": 4096, "warm": 64, "tests": ["-k", "not compiled"]}
TINY = {"config": "tiny", "main": 24, "long": 40, "warm": 8, "tests": ["-k", "whole_fold"]}
RECYCLES = 3


class Check:
    """The run's report, its deadline and the models it shares between items."""

    def __init__(self, args: argparse.Namespace):
        self.args, self.plan = args, TINY if args.tiny else FULL
        self.device = torch.device("cpu" if args.tiny else "cuda")
        self.deadline = time.monotonic() + args.budget
        self.out = args.out_dir / ("h100-check-rehearsal.json" if args.tiny else "h100-check.json")
        self.report = environment(self.device) | {"run": "h100-check", "recycles": RECYCLES, "items": {},
                                                  "complete": False}  # fmt: skip
        self.config = model_config(self.plan["config"], self.device)
        self.state, self.preds, self.models = None, {}, {}

    def save(self) -> None:
        from remyfold.io.atomic import write_text_atomic

        write_text_atomic(self.out, json.dumps(self.report, indent=1, default=str) + "\n")

    def item(self, name: str, fn, min_seconds: float) -> None:
        left = self.deadline - time.monotonic()
        if left < min_seconds:
            self.report["items"][name] = {"status": "skipped: budget", "seconds_left": round(left)}
        else:
            start = time.monotonic()
            try:
                self.report["items"][name] = {"status": "ok"} | fn()
            except Exception as err:  # one item's failure must not lose the others
                self.report["items"][name] = {"status": f"failed: {type(err).__name__}: {str(err)[:300]}"}
            self.report["items"][name]["wall_seconds"] = round(time.monotonic() - start, 1)
        self.save()

    def folder(self, precision: str, **kwargs):
        """A Folder in ``precision``; one network serves the fp32 modes, another bf16 (built once each)."""
        from remyfold.api import Folder
        from remyfold.precision import default_precision

        precision = default_precision(self.device) if precision == "auto" else precision
        family = "bf16" if precision == "bf16" else "fp32"
        if family not in self.models:
            self.models.pop("fp32" if family == "bf16" else "bf16", None)  # one full network at a time
            release(self.device)
            model = build_remyfold(self.config, self.state, self.device, "sdpa")
            if self.device.type == "cuda":
                model.esm.half()  # esmfold_v1 stores its language model in float16
            self.models[family] = model
        return Folder(self.models[family], device=self.device, precision=precision, **kwargs)


def gpu_tests(check: Check) -> dict:
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/model/test_fused_attention.py",
           *check.plan["tests"]] + ([] if check.args.tiny else ["tests/api/test_gpu.py"])  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240)
    return {"returncode": done.returncode, "tail": done.stdout[-800:]}


def modes(device: torch.device) -> list[str]:
    from remyfold.api import available_precisions

    return [m for m in ("fp32", "tf32", "bf16") if m in available_precisions(device)]


def main_item(check: Check) -> dict:
    from remyfold.precision import default_precision

    length, seq = check.plan["main"], random_sequence(check.plan["main"], "h100-check")
    reference = build_reference(check.config, check.device, seed=0)
    check.state = {k: v.float().cpu() for k, v in reference.state_dict().items()}
    warm = random_sequence(check.plan["warm"], "warm")
    with tf32(check.device.type == "cuda"):
        ref_s, ref_peak, _ = measure(lambda: reference_forward(reference, seq, RECYCLES, None),
                                     lambda: reference_forward(reference, warm, 0, None), check.device, 1)  # fmt: skip
    del reference
    release(check.device)
    rows = [{"impl": "reference", "seconds": ref_s, "peak_gib": ref_peak}]
    for mode in modes(check.device):
        folder = check.folder(mode)
        record = ("x", seq)
        secs, peak, [pred] = measure(lambda: folder.fold_batch([record], num_recycles=RECYCLES),
                                     lambda: folder.fold_batch([("w", warm)], num_recycles=0), check.device, 1)  # fmt: skip
        check.preds[mode] = pred
        rows.append({"impl": "remyfold", "precision": mode, "seconds": secs, "peak_gib": peak,
                     "chunk_size": pred.extra["chunk_size"], "speedup": ref_s / secs})  # fmt: skip
        del folder
        release(check.device)
        check.report["items"]["main"] = {"status": "running", "rows": rows}
        check.save()
    return {"length": length, "default_precision": default_precision(check.device), "rows": rows}


def predicted(length: int, precision: str) -> dict | None:
    """The memory model's row for ``length``, ``precision`` and the 80 GiB chunk rule."""
    path = ROOT / "bench/results/gpu-memory-model.json"
    rows = json.loads(path.read_text())["results"] if path.exists() else []
    return next((r for r in rows if (r["length"], r["precision"], r.get("chunk")) == (length, precision, "auto")), None)


def rehearsal_prediction(check: Check, length: int) -> dict:
    """The memory model run live on the rehearsal's configuration (unchunked bf16)."""
    from memory_model import fold_peak

    from remyfold.model import FoldingConfig

    return fold_peak(FoldingConfig.from_hf_dict(check.config), "bf16", length, None, 2)


def long_item(check: Check) -> dict:
    length = check.plan["long"]
    model_row = predicted(length, "bf16") if not check.args.tiny else rehearsal_prediction(check, length)
    chunk = model_row["chunk_size"] if model_row else None
    folder = check.folder("bf16", chunk_size=chunk)
    device_rule = folder.cuda_chunk_size(1, length) if check.device.type == "cuda" else None
    secs, peak, [pred] = measure(lambda: folder.fold_batch([("long", random_sequence(length, "long"))],
                                                           num_recycles=RECYCLES), None, check.device, 1)  # fmt: skip
    return {"length": length, "precision": "bf16", "seconds": secs, "peak_gib": peak, "chunk_size": chunk,
            "device_rule_chunk": device_rule, "model_peak_gib": model_row and model_row["peak_gib"],
            "mean_plddt": float(pred.mean_plddt)}  # fmt: skip


def kernels_item(check: Check) -> dict:
    folder = check.folder("auto")
    return {"precision": folder.precision, "top": top_kernels(folder, ("k", random_sequence(check.plan["main"], "k")))}


def drift_item(check: Check) -> dict:
    from remyfold.precision import choose_precision

    base = check.preds.get("fp32")
    if base is None:
        return {"status": "skipped: no fp32 prediction"}
    rows = [drift_row(check.plan["main"], m, p, base) for m, p in check.preds.items() if m != "fp32"]
    seconds = {r["precision"]: r["seconds"] for r in check.report["items"]["main"]["rows"] if r["impl"] == "remyfold"}
    best, reasons = choose_precision(rows, seconds)
    return {"rows": rows, "rule_choice": best, "reasons": reasons, "note": "random weights: may overstate drift"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tiny", action="store_true", help="rehearse on the CPU with the tiny configuration")
    p.add_argument("--budget", type=float, default=450, help="seconds for the whole check")
    p.add_argument("--out-dir", type=Path, default=ROOT / "bench/results")
    check = Check(p.parse_args(argv))
    check.save()
    check.item("gpu_tests", lambda: gpu_tests(check), 30)
    check.item("main", lambda: main_item(check), 120 if not check.args.tiny else 5)
    check.item("long", lambda: long_item(check), 90 if not check.args.tiny else 5)
    check.item("kernels", lambda: kernels_item(check), 30 if not check.args.tiny else 5)
    check.item("drift", lambda: drift_item(check), 0)
    check.report["complete"] = True
    check.save()
    print(json.dumps({k: v.get("status") for k, v in check.report["items"].items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
