"""Which attention is faster on the CPU: plain against SDPA, interleaved in one process.

`bench/cpu/cpu_bench.py` runs each configuration in its own process one after the other, so a
difference of a few percent between two remyfold workers is within the machine's drift (its fp32
matmul rate moved by 10 % between the start and the end of one run). This script answers the
narrower question behind ``attention="auto"`` on the CPU: it loads the full-size model twice in
one process (the memory-mapped checkpoint is shared, so this costs little memory), once per
attention kind, and times folds in ABBA order per length and round, so drift hits both kinds
alike. Each time is one prediction with the default recycling, after a warm-up fold per kind.

Usage: ``python bench/cpu/cpu_attention.py --weights DIR --lengths 64,128 --rounds 2 --out bench/results/cpu-attention.json``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "common")]

from cpu_bench import environment_report, int_list, linear_rates  # noqa: E402
from models import random_sequence  # noqa: E402

KINDS = ("plain", "sdpa")


def time_fold(folder, sequence: str) -> float:
    """Seconds of one prediction with the default recycling."""
    start = time.perf_counter()
    folder.fold_batch([("x", sequence)])
    return time.perf_counter() - start


def measure(folders: dict, lengths: list[int], rounds: int) -> dict[str, dict[str, list[float]]]:
    """``{length: {kind: [seconds, ...]}}``; per length and round the order is A B B A."""
    times = {str(n): {kind: [] for kind in folders} for n in lengths}
    for n in lengths:
        sequence = random_sequence(n, f"attention-{n}")
        for r in range(rounds):
            first, second = KINDS if r % 2 == 0 else KINDS[::-1]
            for kind in (first, second, second, first):
                times[str(n)][kind].append(round(time_fold(folders[kind], sequence), 2))
                print(f"L={n} {kind}: {times[str(n)][kind][-1]} s", file=sys.stderr, flush=True)
    return times


def render(report: dict) -> str:
    """Markdown: machine, commit, and per length the median seconds of each kind."""
    env = report["environment"]
    lines = [
        "# Attention on the CPU: plain against SDPA, interleaved in one process",
        "",
        f"* machine: {env['device_name']}, {env['cores_available']} cores available, {env['threads']} torch threads",
        f"* torch {env['torch']}, remyfold {env['remyfold']} commit {env['commit'][:10]}"
        f"{' (dirty)' if env['dirty'] else ''}, {env['date']}",
        f"* fp32 matmul GFLOP/s at start / end: {report['matmul_tflops']['start']['fp32'] * 1000:.0f} / "
        f"{report['matmul_tflops']['end']['fp32'] * 1000:.0f}",
        f"* {report['rounds']} rounds of A B B A per length, default recycling, after a warm-up fold per kind",
        "",
        "| length | plain: median (s) | SDPA: median (s) | SDPA / plain | all plain (s) | all SDPA (s) |",
        "|---:|---:|---:|---:|---|---|",
    ]
    for n, by_kind in report["seconds"].items():
        plain, sdpa = statistics.median(by_kind["plain"]), statistics.median(by_kind["sdpa"])
        lines.append(f"| {n} | {plain:.1f} | {sdpa:.1f} | {sdpa / plain:.3f} | "
                     f"{', '.join(map(str, by_kind['plain']))} | {', '.join(map(str, by_kind['sdpa']))} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", type=Path, required=True, help="checkpoint directory (bench/cpu/checkpoint.py)")
    p.add_argument("--lengths", type=int_list, default=[64, 128])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--markdown", type=Path)
    args = p.parse_args(argv)
    from remyfold.api import Folder
    from remyfold.io.atomic import write_text_atomic

    report = {"environment": environment_report(args), "rounds": args.rounds,
              "matmul_tflops": {"start": linear_rates(args.threads, ("fp32",))}}  # fmt: skip
    folders = {kind: Folder.from_pretrained(str(args.weights), device="cpu", attention=kind, threads=args.threads)
               for kind in KINDS}  # fmt: skip
    for folder in folders.values():
        time_fold(folder, random_sequence(32, "warm-up"))
    report["seconds"] = measure(folders, args.lengths, args.rounds)
    report["matmul_tflops"]["end"] = linear_rates(args.threads, ("fp32",))
    write_text_atomic(args.out, json.dumps(report, indent=1) + "\n")
    if args.markdown:
        write_text_atomic(args.markdown, render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
