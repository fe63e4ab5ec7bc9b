"""The one-call GPU run of issue 12: every measurement in priority order inside one time budget.

``bench/gpu/h100_run.sh`` calls this (``--tiny`` rehearses the whole run on the CPU with the tiny
configuration; CI does that in tests/bench/test_h100_run.py). Items, in priority order:

1. ``gpu_tests``: ``pytest tests/api/test_gpu.py`` (CUDA against CPU for every fast path; bf16 drift).
2. ``main``: full-size esmfold_v1, random weights, 4 recycles — the reference (fp16 LM, TF32, as
   its docs advise) and remyfold fp32 and bf16 at 384 and 1024 residues; drift at those lengths.
3. ``long``: remyfold only, chunked, at 2048 and 4096 residues (bf16).
4. ``throughput``: 200 seeded sequences of 50–400 residues through predict's batching (bf16),
   against the reference one by one on a seeded sample.
5. ``drift``: each faster precision against fp32 on a seeded sample of those sequences (fp32
   folds them through the same batching, so its own rate on the sample is recorded too).
6. ``components``: where the time goes — LM, trunk per pass, structure module — at the longest
   main length, fastest precision first.
7. ``kernels``: the cuEquivariance triangle kernels (when importable) and ``torch.compile`` of
   the trunk blocks (CUDA only): time and drift against the plain path.

Each measurement is skipped when the budget's prediction says it would end after the deadline
(``skipped: deadline`` rows); an item starts only with its minimum time left (else
``skipped: budget``). The JSON and markdown are rewritten after every measurement, so a run cut
short keeps what it measured. Times are given as multiples of the FLOP floor at the card's
measured matmul rate (``floor_ratio``).
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "common")]

from bench import Bench, Case, drift_row, parse_args  # noqa: E402
from components import component_seconds, top_kernels  # noqa: E402
from flops import prediction_flops  # noqa: E402
from h100_env import probe  # noqa: E402
from measure import GIB, ROOT, release, synchronize, tf32  # noqa: E402
from models import random_sequence  # noqa: E402
from throughput import reference_rate, throughput_records  # noqa: E402

ITEMS = ("gpu_tests", "main", "long", "throughput", "drift", "components", "kernels")
COMPILE_MIN_SECONDS = 120  # inductor compiles the trunk block once per shape (about a minute on a 16-core host)


@dataclass(frozen=True)
class Plan:
    """Sizes of one run: the full H100 plan or the tiny CPU rehearsal of the same steps."""

    config: str
    device: str
    main: tuple[int, ...]
    long: tuple[int, ...]
    long_chunk: int
    throughput: int
    throughput_lengths: tuple[int, int]
    reference_sample: int
    drift_sample: int
    recycles: int
    budget: float  # seconds for all items, from the start of the driver
    tests_timeout: float
    minimum: dict  # item → seconds that must be left for the item to start


PLANS = {
    "full": Plan("full", "cuda", (384, 1024), (2048, 4096), 64, 200, (50, 400), 16, 24, 4, 420.0, 150.0,
                 {"gpu_tests": 40, "main": 60, "long": 40, "throughput": 30, "drift": 20, "components": 15,
                  "kernels": 20}),
    # The same steps at toy sizes (1 recycle) so that CI can rehearse the whole command quickly.
    "tiny": Plan("tiny", "cpu", (12, 20), (24,), 8, 6, (10, 24), 2, 3, 1, 900.0, 120.0,
                 {name: 1 for name in ITEMS}),
}  # fmt: skip


class H100Run(Bench):
    """The issue-12 run on top of :class:`bench.Bench` (same models, rows, budget and JSON)."""

    def __init__(self, plan: Plan, items: tuple[str, ...], out_dir: Path, stem: str, budget: float):
        join = lambda values: ",".join(str(v) for v in values)  # noqa: E731
        super().__init__(parse_args([
            "--config", plan.config, "--device", plan.device, "--lengths", join(plan.main),
            "--recycles", str(plan.recycles), "--repeats", "1", "--precisions", "fp32,bf16",
            "--long-lengths", join(plan.long), "--long-chunk", str(plan.long_chunk), "--long-ref-max", "0",
            "--throughput", str(plan.throughput), "--throughput-lengths", join(plan.throughput_lengths),
            "--throughput-ref-sample", str(plan.reference_sample), "--deadline", str(budget),
            "--out", str(out_dir / f"{stem}.json"),
        ]))  # fmt: skip
        self.plan, self.items, self.markdown_path = plan, items, out_dir / f"{stem}.md"
        self.folders: dict = {}
        self.fast_predictions: dict = {}
        self.report |= {"run": "h100", "plan": asdict(plan) | {"budget": budget}, "environment_check": probe(),
                        "items": {name: {"status": "pending"} for name in ITEMS}, "components": [],
                        "kernels": {}, "gpu_tests": None}  # fmt: skip

    # ---- bookkeeping -------------------------------------------------------------------------
    def save(self) -> None:
        from h100_markdown import render_h100

        from remyfold.io.atomic import write_text_atomic

        super().save()
        write_text_atomic(self.markdown_path, render_h100(self.report))

    def left(self) -> float:
        return self.budget.deadline - self.budget.elapsed()

    def item(self, name: str, run) -> None:
        """Run item ``name`` if requested and its minimum time is left; record its status and seconds."""
        entry, start = self.report["items"][name], time.monotonic()
        if name not in self.items:
            entry["status"] = "not requested"
        elif self.left() < self.plan.minimum[name]:
            entry["status"] = f"skipped: budget ({self.left():.0f} s left, needs {self.plan.minimum[name]} s)"
        else:
            try:
                entry["status"] = run() or "ok"
            except Exception as err:  # noqa: BLE001 - one failed item must not sink the run
                entry["status"] = f"error: {type(err).__name__}: {(str(err).splitlines() or [''])[0]}"
                release(self.device)
        entry["seconds"] = round(time.monotonic() - start, 1)
        print(f"[{self.budget.elapsed():7.1f}s] item {name}: {entry['status']}", file=sys.stderr, flush=True)
        self.save()

    # ---- models: one remyfold network per precision, only one of them on the device ----------
    def folder(self, precision: str, chunk: int | None, kernels=None):
        from remyfold.model.kernels import KernelOptions, apply_kernels

        for other, folder in self.folders.items():
            if other != precision:
                folder.model.to("cpu")
        release(self.device)
        if precision not in self.folders:
            self.folders[precision] = super().folder(precision, None)
        folder = self.folders[precision]
        folder.model.to(self.device)
        folder.chunk_size = chunk
        folder.kernels = apply_kernels(folder.model, kernels or KernelOptions(), self.device)
        return folder

    # ---- items -------------------------------------------------------------------------------
    def gpu_tests(self) -> str:
        """``pytest tests/api/test_gpu.py`` in a subprocess, within the item's share of the budget."""
        timeout = max(10.0, min(self.plan.tests_timeout, self.left() - 30))
        command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests/api/test_gpu.py"]
        try:
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
            output, code = done.stdout + done.stderr, done.returncode
        except subprocess.TimeoutExpired as err:
            partial = err.stdout or ""
            output, code = partial.decode(errors="replace") if isinstance(partial, bytes) else partial, None
        counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|skipped|errors?)", output)}
        self.report["gpu_tests"] = {"returncode": code, "timeout_s": round(timeout), "counts": counts,
                                    "tail": output[-3000:]}  # fmt: skip
        if code is None:
            return f"timeout after {timeout:.0f} s"
        return "ok" if code == 0 else f"failed (pytest exit {code})"

    def main(self) -> None:
        if self.args.reference:
            self.reference_lengths()
        self.remyfold_lengths()

    def long(self) -> None:
        self.long_lengths()

    def throughput(self) -> str:
        """remyfold (fastest mode) through predict's batch planner; the reference one by one on a sample."""
        a = self.args
        records = throughput_records(a.throughput, a.seed, a.throughput_lengths, random_sequence)
        folder = self.folder(a.throughput_precision, None)
        remy, self.fast_predictions = self.batched_rate(folder, records)
        result = {"n": len(records), "lengths": list(a.throughput_lengths), "recycles": a.recycles,
                  "max_tokens_per_batch": a.max_tokens_per_batch, "remyfold": remy, "reference": None}  # fmt: skip
        self.report["throughput"] = result
        self.save()
        model = self.reference_on_device()
        with tf32(self.report["reference_setup"]["tf32"]):
            result["reference"] = reference_rate(
                lambda seq: self.reference_call(model, seq), records, a.throughput_ref_sample, a.seed,
                self.budget, self.device)  # fmt: skip
        self.park_reference()
        if remy.get("sequences_per_second") and result["reference"].get("sequences_per_second"):
            result["speedup"] = remy["sequences_per_second"] / result["reference"]["sequences_per_second"]
        return "partial" if remy.get("partial") else "ok"

    def reference_call(self, model, sequence: str):
        from models import reference_forward

        return reference_forward(model, sequence, self.args.recycles, None)

    def batched_rate(self, folder, records: list[tuple[str, str]]) -> tuple[dict, dict]:
        """Fold ``records`` in predict's batches, stopping before a batch that would pass the deadline."""
        from remyfold.sequence import plan_batches

        batches = plan_batches([len(seq) for _, seq in records], self.args.max_tokens_per_batch)
        folder.fold_batch([records[i] for i in batches[-1]], num_recycles=0)  # warm-up on the longest batch
        release(self.device)
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        predictions, seconds, slowest = {}, 0.0, 0.0
        for batch in batches:
            if predictions and self.left() < 2 * slowest:
                break
            synchronize(self.device)
            start = time.perf_counter()
            preds = folder.fold_batch([records[i] for i in batch], num_recycles=self.args.recycles)
            synchronize(self.device)
            elapsed = time.perf_counter() - start
            seconds, slowest = seconds + elapsed, max(slowest, elapsed)
            predictions.update((p.id, p) for p in preds)
        peak = torch.cuda.max_memory_allocated(self.device) / GIB if self.device.type == "cuda" else None
        result = {"precision": folder.precision, "batches": len(batches), "status": "ok", "peak_gib": peak,
                  "folded": len(predictions), "partial": len(predictions) < len(records), "seconds": seconds,
                  "sequences_per_second": len(predictions) / seconds if seconds else None}  # fmt: skip
        return result, predictions

    def drift(self) -> str:
        """fp32 on a seeded sample of the throughput sequences, compared with the faster mode's predictions."""
        if not self.fast_predictions:
            return "skipped: no throughput predictions to compare"
        rng = random.Random(f"drift-{self.args.seed}")
        ids = sorted(rng.sample(sorted(self.fast_predictions), min(self.plan.drift_sample, len(self.fast_predictions))))
        a = self.args
        records = {rid: seq for rid, seq in throughput_records(a.throughput, a.seed, a.throughput_lengths, random_sequence)}
        base_result, base = self.batched_rate(self.folder("fp32", None), [(rid, records[rid]) for rid in ids])
        for rid, pred in base.items():
            fast = self.fast_predictions[rid]
            self.report["drift"].append(drift_row(len(pred.aatype), fast.precision, fast, pred) | {"id": rid, "set": "throughput"})
        self.report["throughput_fp32_sample"] = base_result
        return "partial" if base_result["partial"] else "ok"

    def components(self) -> None:
        length = max(self.plan.main)
        record = (f"L{length}", random_sequence(length, f"{self.args.seed}-{length}"))
        for precision in reversed(self.args.precisions):  # fastest first
            flops = prediction_flops(self.folding_config, length, self.args.recycles)
            rate = self.rates_for("remyfold", precision)[1] * 1e12
            if not self.budget.allows(f"remyfold:{precision}", flops["total"], 1.3):
                self.report["components"].append({"precision": precision, "length": length, "status": "skipped: deadline"})
                continue
            folder = self.folder(precision, None)
            row = component_seconds(folder, record, self.args.recycles)
            row["top_kernels"] = top_kernels(folder, record)
            row |= {"precision": precision, "length": length, "recycles": self.args.recycles, "status": "ok",
                    "floor": {"lm": flops["lm"] / rate, "trunk_per_pass": flops["trunk_per_recycle"] / rate,
                              "structure_module_per_pass": flops["structure_module_per_recycle"] / rate}}  # fmt: skip
            self.report["components"].append(row)
            self.save()

    def kernels(self) -> str:
        """cuEquivariance triangle kernels per precision, then torch.compile (CUDA only), against plain."""
        from remyfold.model import kernels_cuequivariance
        from remyfold.model.kernels import KernelOptions

        info = self.report["kernels"]
        if self.device.type != "cuda":
            info["cuequivariance"] = info["compile"] = f"not run: CUDA only (device {self.device})"
            return "ok"
        if kernels_cuequivariance.is_installed():
            for precision in reversed(self.args.precisions):
                self.kernel_lengths(precision, "cuequivariance", KernelOptions(triangle="cuequivariance"))
            info["cuequivariance"] = "measured"
        else:
            info["cuequivariance"] = "not installed (carry .cueq, see bench/README.md)"
        if self.left() < COMPILE_MIN_SECONDS:
            info["compile"] = f"skipped: budget ({self.left():.0f} s left, compiling needs ~{COMPILE_MIN_SECONDS} s)"
            return "ok"
        precision = self.args.precisions[-1]
        self.kernel_lengths(precision, "compile", KernelOptions(compile_trunk=True), lengths=self.plan.main[:1],
                            fresh=True)  # fmt: skip
        info["compile"] = "measured (warm-up includes compilation)"
        return "ok"

    def kernel_lengths(self, precision: str, label: str, options, lengths=None, fresh: bool = False) -> None:
        """Timed rows for ``precision+label`` at ``lengths`` (default: main), with drift against fp32."""
        from functools import partial

        from remyfold.api import Folder
        from models import build_remyfold

        if fresh:  # compilation changes the blocks in place: a network of its own
            for folder in self.folders.values():
                folder.model.to("cpu")
            model = build_remyfold(self.config, self.state, self.device, self.args.attention)
            folder = Folder(model, device=self.device, precision=precision, kernels=options)
        else:
            folder = self.folder(precision, None, options)
        preds = None
        # Predict this variant's time from the plain mode's runs until it has runs of its own.
        plain = self.budget.largest.get(f"remyfold:{precision}")
        if plain is not None:
            self.budget.largest.setdefault(f"remyfold:{precision}+{label}", plain)
        for length in lengths or self.plan.main:
            record = [(f"L{length}", random_sequence(length, f"{self.args.seed}-{length}"))]
            run = partial(folder.fold_batch, record, num_recycles=self.args.recycles)
            warmup = partial(folder.fold_batch, record, num_recycles=0)
            case = Case("main", length, "remyfold", f"{precision}+{label}", None, self.args.recycles)
            _, preds = self.timed_row(case, run, warmup, 1)
            self.report["results"][-1]["kernels"] = folder.kernels.status
            if preds is not None and length in self.fp32_predictions:
                self.report["drift"].append(drift_row(length, f"{precision}+{label}", preds[0], self.fp32_predictions[length]))
        del folder, preds
        release(self.device)
        if not fresh:
            self.folder(precision, None)  # back to the plain path for anything after

    def run_all(self) -> dict:
        self.report["matmul_tflops"] = self.matmul()
        self.save()
        for name in ITEMS:
            self.item(name, getattr(self, name))
        self.report["precision_rule"] = precision_verdict(self.report)
        self.report["complete"] = True
        self.save()
        return self.report

    def matmul(self) -> dict:
        from measure import matmul_rates, rate_key

        needed = {rate_key(p) for p in self.args.precisions} | ({"fp16", "tf32"} if self.device.type == "cuda" else set())
        return matmul_rates(self.device, needed)


def precision_verdict(report: dict) -> dict:
    """The precision rule applied to this run's drift and timings (bench/gpu/precision_rule.py)."""
    from precision_rule import verdict

    return verdict(report)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tiny", action="store_true", help="rehearse on the CPU with the tiny configuration")
    p.add_argument("--items", default=",".join(ITEMS), help=f"comma-separated subset of {', '.join(ITEMS)}")
    p.add_argument("--budget", type=float, help="seconds for all items (default: the plan's)")
    p.add_argument("--out-dir", type=Path, required=True, help="where h100.json/.md (tiny: rehearsal-tiny.*) go")
    p.add_argument("--lengths", help="comma-separated main lengths instead of the plan's (e.g. a second call: 384)")
    p.add_argument("--stem", help="name of the JSON/markdown files (default: h100, tiny: rehearsal-tiny)")
    args = p.parse_args(argv)
    items = tuple(i.strip() for i in args.items.split(",") if i.strip())
    if not items or set(items) - set(ITEMS):
        p.error(f"--items {args.items!r}: choose from {', '.join(ITEMS)}")
    plan = PLANS["tiny" if args.tiny else "full"]
    if args.lengths:
        plan = replace(plan, main=tuple(int(n) for n in args.lengths.split(",")))
    if plan.device == "cuda" and not torch.cuda.is_available():
        print("h100: error: no CUDA device here; run with --tiny for the CPU rehearsal", file=sys.stderr)
        return 2
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = args.stem or ("rehearsal-tiny" if args.tiny else "h100")
    H100Run(plan, items, args.out_dir, stem, args.budget or plan.budget).run_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
