"""A trunk block with its pair passes in cache-sized blocks against chunks of rows, alternated in one process (issue 24).

On the CPU (``KernelOptions(triangle="blocked")``, the default there) the passes of a trunk block
that touch every pair run a block of positions at a time whose widest temporary fits
:data:`remyfold.model.kernels_blocked.CACHE_BLOCK_BYTES`: the multiplicative updates' projections
and output path, and (:meth:`~remyfold.model.trunk_block.TrunkBlock.block_for_cache`) the pair
bias, outer product and transitions. This script loads a checkpoint through
:class:`remyfold.api.Folder` (paged, so a full-size one needs ~1 GiB), takes trunk block 0 and runs
it on random states of ``--length`` residues with the fold's chunk size, in these settings:

* ``rows``: the layout before the cache blocks as far as the code still has it: the transitions,
  pair bias and outer product a chunk of rows at a time, and the multiplicative update's blocks
  of :data:`~remyfold.model.kernels_blocked.PAIR_BLOCK_BYTES` (its output path as many rows as a
  block of its contraction; its four projections, now one stacked product, 8 MiB together where
  each had a block of that size before);
* ``cache-N``: blocks of ``N`` MiB (``--sizes``; the default block is 2 MiB).

Each round runs every setting once, in turn and in reverse turn on alternate rounds, so a machine
whose speed drifts favours none; the first round warms up and is not recorded. It records every
time, the median and best per setting, the block's FLOP floor (its matmul FLOPs over the fp32 rate
measured at the start and end) and the largest difference of each setting's output from ``rows``'.
Timings need an otherwise idle machine; the load average is recorded.

    python bench/cpu/cache_blocks.py --weights /tmp/esmfold_random --length 256 --sizes 1,2,4 \\
        --out bench/results/cpu-cache-blocks.json --markdown bench/results/cpu-cache-blocks.md
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "common")]
from block_profile import block_inputs, block_parser, count, fp32_rate, run_and_write  # noqa: E402
from cpu_worker import code_version  # noqa: E402
from flops import pair_track_flops, sequence_track_flops  # noqa: E402

MIB = 1 << 20


def sizes(text: str) -> list[float]:
    """An argparse type: comma-separated block sizes in MiB, each above 0."""
    values = [float(part) for part in text.split(",")]
    if not values or min(values) <= 0:
        raise ValueError(text)
    return values


sizes.__name__ = "comma-separated MiB > 0"


def settings(block, block_sizes: list[float]) -> dict:
    """``{name: function that puts block 0 in that setting}``; ``rows`` first."""
    from remyfold.model.kernels_blocked import PAIR_BLOCK_BYTES

    kernel = block.tri_mul_out.kernel

    def put(cache_bytes: int | None):
        def apply():
            block.block_for_cache(cache_bytes)
            kernel.position_block_bytes = cache_bytes or PAIR_BLOCK_BYTES

        return apply

    named = {"rows": put(None)}
    named.update({f"cache-{size:g}": put(int(size * MIB)) for size in block_sizes})
    return named


def time_settings(block, inputs, named: dict, rounds: int) -> tuple[dict, dict]:
    """Seconds per setting (alternated rounds after a warm-up round) and each output's largest difference from ``rows``."""
    s, z, mask, chunk = inputs
    seconds: dict[str, list[float]] = {name: [] for name in named}
    outputs = {}
    with torch.inference_mode():
        for i in range(rounds + 1):
            for name in list(named) if i % 2 == 0 else list(named)[::-1]:
                named[name]()
                state = z.clone()
                start = time.perf_counter()
                outputs[name] = block(s, state, mask, chunk)[1]
                if i:
                    seconds[name].append(time.perf_counter() - start)
    diffs = {name: (out - outputs["rows"]).abs().max().item() for name, out in outputs.items()}
    return seconds, diffs


def run(args) -> dict:
    from remyfold.api import Folder
    from remyfold.errors import RemyfoldError
    from remyfold.model.kernels_blocked import CACHE_BLOCK_BYTES

    folder = Folder.from_pretrained(args.weights, device="cpu", precision="fp32", threads=args.threads, paging="on")
    block = folder.model.trunk.blocks[0]
    if getattr(block.tri_mul_out.kernel, "position_block_bytes", None) is None:
        raise RemyfoldError("the folder's triangle layers are not the blocked CPU kernels; nothing to compare")
    inputs = block_inputs(folder, args.length)
    trunk = folder.model.config.trunk
    flops = sequence_track_flops(trunk, args.length) + pair_track_flops(trunk, args.length)
    rate_start = fp32_rate(args.threads)
    named = settings(block, args.sizes)
    seconds, diffs = time_settings(block, inputs, named, args.rounds)
    block.block_for_cache(CACHE_BLOCK_BYTES)
    block.tri_mul_out.kernel.position_block_bytes = CACHE_BLOCK_BYTES
    rate = max(rate_start, fp32_rate(args.threads))
    floor = flops / (rate * 1e9)
    rows = [{"setting": name, "seconds": times, "median": statistics.median(times), "best": min(times),
             "best_floor_multiple": min(times) / floor, "max_abs_diff_from_rows": diffs[name]}
            for name, times in seconds.items()]  # fmt: skip
    return {"length": args.length, "chunk_rows": inputs[3], "rows": rows, "rounds": args.rounds,
            "gflop": flops / 1e9, "fp32_gflops": rate, "floor_seconds": floor, "threads": torch.get_num_threads(),
            "load_average_at_start": args.load, "load_average_at_end": os.getloadavg(),
            "torch": torch.__version__, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "commit": code_version()}  # fmt: skip


def markdown(r: dict) -> str:
    base = next(row for row in r["rows"] if row["setting"] == "rows")["median"]
    lines = [f"# A trunk block's pair passes in cache-sized blocks against chunks of rows, {r['length']} residues", "",
             f"* commit {r['commit']}, {r['date']}, torch {r['torch']}, {r['threads']} threads, "
             f"load average {', '.join(f'{x:.1f}' for x in r['load_average_at_start'])} at start, "
             f"{', '.join(f'{x:.1f}' for x in r['load_average_at_end'])} at end",
             f"* trunk block 0, chunk {r['chunk_rows']} rows; {r['rounds']} rounds, settings alternated "
             "(in turn, then in reverse turn) after a warm-up round",
             f"* block FLOPs {r['gflop']:.1f} GFLOP, fp32 rate {r['fp32_gflops']:.0f} GFLOP/s → floor "
             f"{r['floor_seconds']:.3f} s", "",
             "| setting | median (s) | median / rows | best (s) | best × floor | max abs diff from rows | all (s) |",
             "|---|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    for row in r["rows"]:
        times = ", ".join(f"{t:.3f}" for t in row["seconds"])
        lines.append(f"| {row['setting']} | {row['median']:.3f} | {row['median'] / base:.3f} | {row['best']:.3f} "
                     f"| {row['best_floor_multiple']:.2f} | {row['max_abs_diff_from_rows']:.1e} | {times} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = block_parser(__doc__.split("\n")[0])
    parser.add_argument("--length", type=count(1), default=256)
    parser.add_argument("--sizes", type=sizes, default=[1.0, 2.0, 4.0])
    parser.add_argument("--rounds", type=count(1), default=6)
    return run_and_write("cache_blocks", parser.parse_args(argv), run, markdown, "cache-blocks")


if __name__ == "__main__":
    sys.exit(main())
