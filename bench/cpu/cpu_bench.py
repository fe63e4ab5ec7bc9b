"""Full-size ESMFold on the CPU: remyfold and the reference, one after the other, in one run.

Both implementations load the same hub-style checkpoint directory (``bench/cpu/checkpoint.py`` writes
a seeded random one in the published dtypes) in their own process (both do not fit in memory at
once), one at a time (:mod:`cpu_worker`), and fold the same seeded sequences with their default
recycling. The run records, per worker: time from spawn to a ready model, peak RSS during the
load, seconds per prediction and peak RSS during each fold; and, for the run: the machine, the
fp32/bf16/fp16 matmul rates measured on the language model's largest product (the FLOP floor's
denominator) at the start and the end, each time's multiple of the fp32 FLOP floor (``flops.py``),
the drift of each extra remyfold mode from remyfold fp32 and the agreement of remyfold fp32 with
the reference (Cα RMSD after superposition, max |ΔpLDDT| of Cα).

A watchdog samples each worker's RSS and the machine's available memory every 0.2 s; when the
machine has less than ``--min-available-gib`` left the worker is killed and recorded as
``killed: out of memory`` with the RSS it reached, instead of taking the machine down.

Usage (bench/README.md, "Full size on the CPU")::

    python bench/cpu/checkpoint.py --config full --out /tmp/esmfold_random
    python bench/cpu/cpu_bench.py --weights /tmp/esmfold_random --lengths 64,128,256 \\
        --out bench/results/cpu-full.json --markdown bench/results/cpu-full.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "common")]

from cpu_report import render_cpu_markdown  # noqa: E402
from flops import prediction_flops  # noqa: E402
from measure import environment  # noqa: E402
from models import random_sequence  # noqa: E402

from remyfold.settings import parse_size  # noqa: E402

GIB = 1024**3
WORKER = Path(__file__).resolve().parent / "cpu_worker.py"
DEFAULT_SCHEDULE = ("remyfold:64+128+256,reference:64+128+256,reference-reuse-allocator:64+128+256,"
                    "remyfold-plain:64+128+256,remyfold-plain-layers:64+128")


def available_gib() -> float:
    """``MemAvailable`` of the machine, GiB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024 / GIB
    return float("inf")


def process_rss_gib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / GIB
    except OSError:
        pass
    return 0.0


def linear_rates(threads: int, dtypes: tuple[str, ...] = ("fp32", "bf16", "fp16")) -> dict[str, float]:
    """TFLOP/s of ``[256, 2560] @ [2560, 10240]`` (the LM's feed-forward product) per dtype, best of 3."""
    import torch

    torch.set_num_threads(threads)
    dt = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    rates = {}
    for key in dtypes:
        x, w = torch.randn(256, 2560, dtype=dt[key]), torch.randn(10240, 2560, dtype=dt[key])
        torch.nn.functional.linear(x, w)
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            torch.nn.functional.linear(x, w)
            best = min(best, time.perf_counter() - start)
        rates[key] = round(2 * 256 * 2560 * 10240 / best / 1e12, 4)
    return rates


def run_worker(spec: dict, tmp: Path, min_available: float, deadline: float) -> dict:
    """Run one worker under the memory and deadline watchdog; its report (plus ``status`` and sampled peak RSS).

    A worker killed for memory or at the deadline keeps the lengths it finished.
    """
    spec = spec | {"out": str(tmp / f"{spec['file']}.json"), "arrays": str(tmp / f"{spec['file']}.npz")}
    spec_path = tmp / f"{spec['file']}.spec.json"
    spec["spawned_at"] = time.time()
    spec_path.write_text(json.dumps(spec))
    proc = subprocess.Popen([sys.executable, str(WORKER), str(spec_path)], env=os.environ | spec.get("env", {}))
    sampled, status = 0.0, "ok"
    while proc.poll() is None:
        sampled = max(sampled, process_rss_gib(proc.pid))
        if available_gib() < min_available:
            proc.kill()
            status = f"killed: out of memory (machine below {min_available} GiB available)"
        elif time.time() > deadline:
            proc.kill()
            status = "killed: deadline (finished lengths kept)"
        time.sleep(0.2)
    if proc.returncode != 0 and status == "ok":
        status = f"error: exit {proc.returncode}"
    out = Path(spec["out"])
    report = json.loads(out.read_text()) if out.is_file() else {"label": spec["label"], "impl": spec["impl"], "results": []}
    report |= {"status": status, "sampled_peak_rss_gib": round(sampled, 2), "precision": spec.get("precision"),
               "attention": spec.get("attention"), "chunk": spec.get("chunk"), "triangle": spec.get("triangle"),
               "cpu_allocator": spec.get("cpu_allocator"), "env": spec.get("env", {}), "paging": spec.get("paging"),
               "evict": spec.get("evict", False), "prefetch": spec.get("prefetch", False),
               "attention_core": spec.get("attention_core"),
               "max_memory": spec.get("max_memory"), "trace": spec.get("trace", False),
               "trunk_blocks": spec.get("trunk_blocks")}  # fmt: skip
    arrays = Path(spec["arrays"])
    report["_arrays"] = dict(np.load(arrays)) if arrays.is_file() else {}
    return report


def compare(a: dict, b: dict) -> list[dict]:
    """Cα RMSD (Å, superposed) and max |ΔpLDDT| for every (length, passes) both workers folded."""
    from remyfold.metrics.superpose import superposed_rmsd

    rows = []
    for key in sorted(k for k in a["_arrays"] if k.startswith("ca_") and k in b["_arrays"]):
        suffix = key.removeprefix("ca_")
        rmsd = superposed_rmsd(a["_arrays"][key].astype(np.float64), b["_arrays"][key].astype(np.float64))
        dplddt = np.abs(a["_arrays"]["plddt_" + suffix] - b["_arrays"]["plddt_" + suffix]).max()
        length, passes = suffix.split("_")
        rows.append({"a": a["label"], "b": b["label"], "length": int(length),
                     "passes": "default" if passes == "None" else int(passes),
                     "ca_rmsd": float(rmsd), "max_plddt_diff": float(dplddt)})  # fmt: skip
    return rows


def best_rates(measured: dict[str, dict[str, float]]) -> dict[str, float]:
    """Per dtype, the highest rate measured in the run (at the start or the end): the floor is what
    the machine can do, and a rate measured low (a busy or cold machine) would put runs below it."""
    return {key: max(m[key] for m in measured.values() if key in m) for key in next(iter(measured.values()))}


def add_floors(report: dict, config, rates: dict) -> None:
    """FLOPs, fp32 floor seconds and floor multiples for every result row (none for a cut-trunk probe)."""
    rate = rates["fp32"] * 1e12
    for worker in report["workers"]:
        for row in worker["results"]:
            if worker.get("trunk_blocks"):  # the whole model's FLOPs would not describe what ran
                row["tflop"] = row["floor_seconds"] = row["floor_multiple"] = None
                continue
            passes = row["passes"] if isinstance(row["passes"], int) else config.trunk.max_recycles
            flops = prediction_flops(config, row["length"], passes - 1)
            row["tflop"] = flops["total"] / 1e12
            row["floor_seconds"] = flops["total"] / rate
            row["floor_multiple"] = row["seconds"] / row["floor_seconds"]


KINDS = {  # worker kind → spec fields
    "remyfold": {"impl": "remyfold", "precision": "fp32", "attention": "auto"},
    "remyfold-plain": {"impl": "remyfold", "precision": "fp32", "attention": "plain"},
    "remyfold-sdpa": {"impl": "remyfold", "precision": "fp32", "attention": "sdpa"},
    "remyfold-fp32-lm16": {"impl": "remyfold", "precision": "fp32-lm16", "attention": "auto"},
    # weights paged per layer (remyfold.paging) or held, whatever the memory; -cold: the checkpoint
    # evicted from the page cache before each fold (the cold-cache cost)
    "remyfold-paged": {"impl": "remyfold", "precision": "fp32", "attention": "auto", "paging": "on"},
    "remyfold-held": {"impl": "remyfold", "precision": "fp32", "attention": "auto", "paging": "off"},
    "remyfold-paged-cold": {"impl": "remyfold", "precision": "fp32", "attention": "auto", "paging": "on", "evict": True},
    "remyfold-held-cold": {"impl": "remyfold", "precision": "fp32", "attention": "auto", "paging": "off", "evict": True},
    # paged with the next layer's pages read ahead (MADV_WILLNEED; off in remyfold since it was measured slower)
    "remyfold-paged-prefetch": {"impl": "remyfold", "precision": "fp32", "attention": "auto", "paging": "on",
                                "prefetch": True},
    "remyfold-paged-cold-prefetch": {"impl": "remyfold", "precision": "fp32", "attention": "auto", "paging": "on",
                                     "evict": True, "prefetch": True},
    # held, the blocked triangle attention's core forced to matmul (A/B of the SDPA core it picks from 192 residues)
    "remyfold-held-matmul-core": {"impl": "remyfold", "precision": "fp32", "attention": "auto", "paging": "off",
                                  "attention_core": "matmul"},
    # paged, with the peak RSS sampled per phase (language model, each trunk block, what follows: phase_trace.py)
    "remyfold-paged-trace": {"impl": "remyfold", "precision": "fp32", "attention": "auto", "paging": "on", "trace": True},
    # a memory probe, not a prediction: paged and traced, the trunk cut to its first 2 blocks (every block
    # allocates the same shapes; a -trace run of all 48 shows it), for lengths whose whole fold takes hours
    "remyfold-paged-probe": {"impl": "remyfold", "precision": "fp32", "attention": "auto", "paging": "on", "trace": True,
                             "trunk_blocks": 2},
    # bf16 matrix products on the CPU (AVX-512 BF16 where the CPU has it): opt-in unless its drift allows
    "remyfold-bf16": {"impl": "remyfold", "precision": "bf16", "attention": "auto"},
    "reference": {"impl": "reference"},
    "reference-lm-fp32": {"impl": "reference", "lm_fp32": True},
    # remyfold without its CPU paths (plain triangle layers, glibc's allocator defaults): what they add
    "remyfold-plain-layers": {"impl": "remyfold", "precision": "fp32", "attention": "auto", "triangle": "plain",
                              "cpu_allocator": "system"},
    # the reference run under remyfold's allocator policy (glibc's environment variables for the same
    # mallopt settings, remyfold.allocator): how much of the gap is the allocator alone
    "reference-reuse-allocator": {"impl": "reference", "env": {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "2147483647"}},
}


def parse_schedule(text: str) -> list[tuple[str, list[tuple[int, int | None]]]]:
    """``"remyfold:64+128@1,reference:64"`` → ``[("remyfold", [(64, None), (128, 1)]), ("reference", [(64, None)])]``.

    ``L@P`` folds length ``L`` with ``P`` trunk passes (``@1``: one pass, no recycling); plain ``L``
    with the default recycling.
    """
    schedule = []
    for item in (part.strip() for part in text.split(",") if part.strip()):
        kind, _, lengths = item.partition(":")
        try:
            runs = [_run(n) for n in lengths.split("+")] if lengths else []
        except ValueError:
            runs = []
        if kind not in KINDS or not runs:
            raise argparse.ArgumentTypeError(f"{item!r}: expected KIND:L1+L2@P with KIND one of {', '.join(KINDS)}")
        schedule.append((kind, runs))
    return schedule


def _run(text: str) -> tuple[int, int | None]:
    """``"400@1"`` → ``(400, 1)``; ``"400"`` → ``(400, None)`` (default recycling)."""
    length, _, passes = text.partition("@")
    if passes and int(passes) < 1:
        raise ValueError(text)
    return int(length), int(passes) if passes else None


def worker_specs(args, sequences: dict) -> list[dict]:
    """One worker per schedule entry, in order; each folds its lengths with the default recycling."""
    base = {"weights": str(args.weights), "threads": args.threads, "sequences": sequences}
    extra = {"max_memory": args.max_memory} if args.max_memory else {}
    return [base | KINDS[kind] | extra | {"label": kind, "file": f"{i:02d}-{kind}", "runs": [list(run) for run in runs]}
            for i, (kind, runs) in enumerate(args.schedule)]  # fmt: skip


def run(args) -> dict:
    from remyfold.loading import read_config
    from remyfold.mapped import map_checkpoint

    config = read_config(args.weights)
    lengths = sorted({16, *(n for _, runs in args.schedule for n, _ in runs)})
    sequences = {str(n): random_sequence(n, f"{args.seed}-{n}") for n in lengths}
    state, _ = map_checkpoint(sorted(args.weights.glob("*.safetensors")))
    weights_gib = {"as_stored": sum(t.numel() * t.element_size() for t in state.values()) / GIB,
                   "fp32": sum(t.numel() * 4 for t in state.values() if t.is_floating_point()) / GIB}  # fmt: skip
    del state
    report = environment_report(args) | {"weights_gib": weights_gib, "workers": [], "agreement": [], "complete": False}
    report["matmul_tflops"] = {"start": linear_rates(args.threads)}
    with tempfile.TemporaryDirectory(prefix="cpu-bench-") as tmp:
        workers, arrays = [], {}
        for spec in worker_specs(args, sequences):
            if time.time() >= args.deadline_epoch:
                report["skipped"] = report.get("skipped", []) + [f"{spec['label']} {spec['runs']}: deadline"]
                continue
            print(f"[{time.strftime('%H:%M:%S')}] {spec['label']} (available {available_gib():.1f} GiB)", file=sys.stderr)
            workers.append(run_worker(spec, Path(tmp), args.min_available_gib, args.deadline_epoch))
            probe_arrays = workers[-1].pop("_arrays")
            if not spec.get("trunk_blocks"):  # a cut trunk predicts nothing to compare
                arrays.setdefault(spec["label"], {}).update(probe_arrays)
            report["workers"] = workers
            by_kind = [{"label": kind, "_arrays": a} for kind, a in arrays.items()]
            report["agreement"] = [row for w in by_kind[1:] for row in compare(by_kind[0], w)]
            save(args, report, config)
    # At the end fp32 only: the floor's rate (a machine that slowed during the run shows here); bf16 and
    # fp16, measured once at the start, are for the reader (their CPU paths are slow to time).
    report["matmul_tflops"]["end"] = linear_rates(args.threads, ("fp32",))
    report["complete"] = True
    save(args, report, config)
    return report


def environment_report(args) -> dict:
    import platform

    import torch

    env = environment(torch.device("cpu"))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    return env | {"device_name": cpu, "cores_available": len(os.sched_getaffinity(0)), "threads": args.threads,
                  "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB, 1),
                  "load_average_at_start": os.getloadavg(), "options": {k: str(v) for k, v in vars(args).items()}}  # fmt: skip


def save(args, report: dict, config) -> None:
    from remyfold.io.atomic import write_text_atomic

    add_floors(report, config, best_rates(report["matmul_tflops"]))
    report["load_average_now"] = os.getloadavg()
    write_text_atomic(args.out, json.dumps(report, indent=1) + "\n")
    if args.markdown:
        write_text_atomic(args.markdown, render_cpu_markdown(report))


def int_list(text: str) -> list[int]:
    return [] if text.strip().lower() == "none" else sorted({int(v) for v in text.split(",") if v.strip()})


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", type=Path, required=True, help="checkpoint directory (bench/cpu/checkpoint.py)")
    p.add_argument("--schedule", type=parse_schedule, default=parse_schedule(DEFAULT_SCHEDULE),
                   help=f"workers in order, KIND:L1+L2,... (default {DEFAULT_SCHEDULE}); kinds: {', '.join(KINDS)}")
    p.add_argument("--deadline", type=float, default=0, help="minutes from the start after which workers are stopped")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--min-available-gib", type=float, default=1.0)
    p.add_argument("--max-memory", type=parse_size, default=None,
                   help="remyfold's --max-memory for every remyfold worker (e.g. 8G; default: what is available)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--markdown", type=Path)
    p.add_argument("--rerender", action="store_true", help="only recompute floors and markdown of --out")
    args = p.parse_args(argv)
    args.deadline_epoch = time.time() + args.deadline * 60 if args.deadline else float("inf")
    return args


def rerender(args) -> None:
    """Recompute the floors and the markdown of an existing ``--out`` report (no folding)."""
    from remyfold.loading import read_config

    report = json.loads(args.out.read_text())
    save(args, report, read_config(args.weights))


def main(argv=None) -> int:
    from remyfold.errors import InputError
    from remyfold.io.outputs import check_report_outputs

    args = parse_args(argv)
    if not (args.weights / "config.json").is_file():
        print(f"cpu_bench: error: no config.json in {args.weights}; write one with bench/cpu/checkpoint.py", file=sys.stderr)
        return 2
    try:  # before hours of folds, not after them
        check_report_outputs(args.out, args.markdown, "cpu")
    except InputError as error:
        print(f"cpu_bench: error: {error}", file=sys.stderr)
        return 2
    rerender(args) if args.rerender else run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
