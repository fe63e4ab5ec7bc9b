"""The blocked triangle attention's two cores on the CPU, alternated in one process (issue 24).

:class:`remyfold.model.kernels_blocked.BlockedTriangleKernels` runs a block of rows' attention
either through PyTorch's fused SDPA kernel (``core="sdpa"``) or by building the block's logits and
adding the biases in place (``core="matmul"``). This script loads a checkpoint through
:class:`remyfold.api.Folder` (paged, so a full-size one needs ~1 GiB), takes trunk block 0's two
triangle attention layers (starting and ending node) with the kernel ``Folder`` attached, and at
each ``--lengths`` runs both layers on random pair states ``--rounds`` times per core, in the order
A B, B A, A B ... so that a machine whose speed drifts favours neither. It records every time, the
median per core and the largest difference between the cores' outputs. Timings need an otherwise
idle machine; the load average is recorded.

    python bench/cpu/attention_core.py --weights /tmp/esmfold_random --lengths 64,128,256,384 \\
        --out bench/results/cpu-attention-core.json --markdown bench/results/cpu-attention-core.md
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).resolve().parent)]
from block_profile import block_inputs, block_parser, count, run_and_write  # noqa: E402
from cpu_worker import code_version  # noqa: E402

CORES = ("matmul", "sdpa")


def lengths(text: str) -> list[int]:
    """An argparse type: comma-separated residue counts, each at least 1."""
    values = [int(part) for part in text.split(",")]
    if not values or min(values) < 1:
        raise ValueError(text)
    return values


lengths.__name__ = "comma-separated lengths >= 1"


def time_cores(block, length: int, rounds: int, folder) -> dict:
    """Seconds of the two attention layers per core (alternated), and the cores' largest output difference."""
    _, z, mask, chunk = block_inputs(folder, length)
    pair_mask = mask[:, :, None] & mask[:, None, :]
    layers = (block.tri_att_start, block.tri_att_end)
    kernel = layers[0].kernel
    seconds: dict[str, list[float]] = {core: [] for core in CORES}
    outputs = {}
    with torch.inference_mode():
        for i in range(rounds + 1):  # round 0 warms both cores up and is not recorded
            for core in CORES if i % 2 == 0 else CORES[::-1]:
                kernel.core = core
                state = z.clone()
                start = time.perf_counter()
                for layer in layers:
                    layer.residual_(state, pair_mask, chunk)
                if i:
                    seconds[core].append(time.perf_counter() - start)
                outputs[core] = state
    kernel.core = "auto"
    diff = (outputs["sdpa"] - outputs["matmul"]).abs().max().item()
    medians = {core: statistics.median(times) for core, times in seconds.items()}
    return {"length": length, "chunk_rows": chunk, "seconds": seconds, "median": medians,
            "sdpa_over_matmul": medians["sdpa"] / medians["matmul"], "max_abs_diff": diff}  # fmt: skip


def run(args) -> dict:
    from remyfold.api import Folder
    from remyfold.errors import RemyfoldError

    folder = Folder.from_pretrained(args.weights, device="cpu", precision="fp32", threads=args.threads, paging="on")
    block = folder.model.trunk.blocks[0]
    if getattr(block.tri_att_start.kernel, "core", None) is None:
        raise RemyfoldError("the folder's triangle layers are not the blocked CPU kernels; nothing to compare")
    rows = [time_cores(block, length, args.rounds, folder) for length in args.lengths]
    return {"rows": rows, "threads": torch.get_num_threads(), "rounds": args.rounds,
            "load_average_at_start": args.load, "load_average_at_end": os.getloadavg(),
            "torch": torch.__version__, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "commit": code_version()}  # fmt: skip


def markdown(r: dict) -> str:
    lines = ["# Blocked triangle attention on the CPU: SDPA core against the matmul core", "",
             f"* commit {r['commit']}, {r['date']}, torch {r['torch']}, {r['threads']} threads, "
             f"load average {', '.join(f'{x:.1f}' for x in r['load_average_at_start'])} at start, "
             f"{', '.join(f'{x:.1f}' for x in r['load_average_at_end'])} at end",
             f"* trunk block 0's starting- and ending-node attention, one process, {r['rounds']} rounds per core "
             "alternated (A B, B A, ...) after a warm-up round; medians", "",
             "| residues | matmul (ms) | sdpa (ms) | sdpa / matmul | all matmul (ms) | all sdpa (ms) | max abs diff |",
             "|---:|---:|---:|---:|---|---|---:|"]  # fmt: skip
    for row in r["rows"]:
        ms = {core: ", ".join(f"{t * 1000:.0f}" for t in row["seconds"][core]) for core in CORES}
        lines.append(f"| {row['length']} | {row['median']['matmul'] * 1000:.0f} | {row['median']['sdpa'] * 1000:.0f} "
                     f"| {row['sdpa_over_matmul']:.3f} | {ms['matmul']} | {ms['sdpa']} | {row['max_abs_diff']:.1e} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = block_parser(__doc__.split("\n")[0])
    parser.add_argument("--lengths", type=lengths, default=[64, 128, 256, 384])
    parser.add_argument("--rounds", type=count(1), default=4)
    return run_and_write("attention_core", parser.parse_args(argv), run, markdown, "attention-core")

if __name__ == "__main__":
    sys.exit(main())
