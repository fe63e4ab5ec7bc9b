"""Where a trunk block's time goes on the CPU, beside its FLOP floor (issue 24: "≤ 1.3× the floor, by measurement").

Loads a checkpoint through :class:`remyfold.api.Folder` (paged, so a full-size one needs ~1 GiB),
takes trunk block 0 with the kernels ``Folder`` chose (blocked triangle layers, reused heap), and
runs it on random sequence and pair states of ``--length`` residues with the chunk size a fold of
that length uses. After ``--warmup`` untimed calls it times ``--repeats`` calls, then profiles one
more with ``torch.profiler`` and sums the self CPU time of each operator into classes:

* ``matmul``: ``mm``, ``bmm``, ``addmm``, ``baddbmm``, ``matmul``, ``linear`` — the work the floor counts;
* ``copy``: ``copy_``, ``clone``, ``contiguous``, ``to``, ``cat``, ``stack``, ``index``/``gather`` writes;
* ``normalise``: layer norms and softmax;
* ``fused attention``: PyTorch's fused SDPA kernel (products, bias and softmax together);
* ``elementwise``: everything else that touches every element (add, mul, sigmoid, relu, masked fill ...);
* ``allocation``: ``empty``, ``zeros``, ``fill_``.

The floor is the block's matmul FLOPs (``bench/common/flops.py``: sequence and pair tracks) over the
fp32 rate of ``[256, 2560] @ [2560, 10240]`` measured in the same run. Timings need an otherwise
idle machine; the load average is recorded.

    python bench/cpu/block_profile.py --weights /tmp/esmfold_random --length 256 \\
        --out bench/results/cpu-block-profile.json --markdown bench/results/cpu-block-profile.md
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "common")]
from cpu_bench import linear_rates  # noqa: E402
from cpu_worker import code_version  # noqa: E402
from flops import pair_track_flops, sequence_track_flops  # noqa: E402

CLASSES = {
    "matmul": ("aten::mm", "aten::bmm", "aten::addmm", "aten::baddbmm", "aten::matmul", "aten::linear"),
    "copy": ("aten::copy_", "aten::clone", "aten::contiguous", "aten::to", "aten::_to_copy", "aten::cat",
             "aten::stack", "aten::index", "aten::gather", "aten::index_put_", "aten::_unsafe_view", "aten::reshape"),
    "normalise": ("aten::layer_norm", "aten::native_layer_norm", "aten::softmax", "aten::_softmax"),
    # SDPA's fused kernel: its two products, bias and softmax in one operator (the blocked triangle
    # attention from 192 residues)
    "fused attention": ("aten::_scaled_dot_product_flash_attention_for_cpu", "aten::scaled_dot_product_attention",
                        "aten::_scaled_dot_product_attention_math"),
    "allocation": ("aten::empty", "aten::zeros", "aten::fill_", "aten::zero_", "aten::empty_strided",
                   "aten::new_zeros", "aten::zeros_like", "aten::empty_like"),
}  # fmt: skip


def op_class(name: str) -> str:
    """The class of a profiled operator (``elementwise`` for anything not listed)."""
    for cls, names in CLASSES.items():
        if name in names:
            return cls
    return "elementwise"


def fp32_rate(threads: int) -> float:
    """GFLOP/s of the language model's largest fp32 product (``cpu_bench.linear_rates``)."""
    return linear_rates(threads, ("fp32",))["fp32"] * 1000


def block_inputs(folder, length: int):
    """Random sequence and pair states of the trunk's widths, an all-true mask, the fold's chunk size."""
    from remyfold.api import auto_chunk_size

    trunk = folder.model.config.trunk
    generator = torch.Generator().manual_seed(0)
    s = torch.randn(1, length, trunk.sequence_state_dim, generator=generator)
    z = torch.randn(1, length, length, trunk.pairwise_state_dim, generator=generator)
    mask = torch.ones(1, length, dtype=torch.bool)
    chunk = folder.chunk_size or auto_chunk_size(torch.device("cpu"), length, trunk.pairwise_state_dim)
    return s, z, mask, chunk


def profile_block(block, s, z, mask, chunk) -> dict[str, float]:
    """Self CPU seconds per operator class of one block call."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        block(s, z.clone(), mask, chunk)
    classes: dict[str, float] = {}
    ops: dict[str, float] = {}
    for event in prof.key_averages():
        seconds = event.self_cpu_time_total / 1e6
        classes[op_class(event.key)] = classes.get(op_class(event.key), 0.0) + seconds
        ops[event.key] = seconds
    top = dict(sorted(ops.items(), key=lambda kv: -kv[1])[:15])
    return {"classes": classes, "top_ops": top}


def run(args) -> dict:
    from remyfold.api import Folder

    folder = Folder.from_pretrained(args.weights, device="cpu", precision="fp32", threads=args.threads, paging="on")
    block = folder.model.trunk.blocks[0]
    s, z, mask, chunk = block_inputs(folder, args.length)
    trunk = folder.model.config.trunk
    flops = sequence_track_flops(trunk, args.length) + pair_track_flops(trunk, args.length)
    rate_start = fp32_rate(args.threads)
    times = []
    with torch.inference_mode():
        for i in range(args.warmup + args.repeats):
            zi = z.clone()
            start = time.perf_counter()
            block(s, zi, mask, chunk)
            if i >= args.warmup:
                times.append(time.perf_counter() - start)
        profiled = profile_block(block, s, z, mask, chunk)
    rate = max(rate_start, fp32_rate(args.threads))
    floor = flops / (rate * 1e9)
    best = min(times)
    return {"length": args.length, "chunk_rows": chunk, "threads": torch.get_num_threads(),
            "load_average_at_start": args.load, "gflop": flops / 1e9, "fp32_gflops": rate,
            "floor_seconds": floor, "seconds": times, "best_seconds": best, "floor_multiple": best / floor,
            "profile": profiled, "torch": torch.__version__, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "commit": code_version()}  # fmt: skip


def markdown(r: dict) -> str:
    total = sum(r["profile"]["classes"].values())
    lines = [f"# One trunk block on the CPU at {r['length']} residues: time against its FLOP floor", "",
             f"* commit {r['commit']}, {r['date']}, torch {r['torch']}, {r['threads']} threads, "
             f"load average at start {', '.join(f'{x:.1f}' for x in r['load_average_at_start'])}",
             f"* block FLOPs {r['gflop']:.1f} GFLOP, fp32 rate {r['fp32_gflops']:.0f} GFLOP/s → floor {r['floor_seconds']:.3f} s; "
             f"chunk {r['chunk_rows']} rows",
             f"* timed calls (s): {', '.join(f'{t:.3f}' for t in r['seconds'])}; best {r['best_seconds']:.3f} s = "
             f"**{r['floor_multiple']:.2f}× the floor**", "",
             "| class | self CPU s (profiled call) | share |", "|---|---|---|"]  # fmt: skip
    for cls, seconds in sorted(r["profile"]["classes"].items(), key=lambda kv: -kv[1]):
        lines.append(f"| {cls} | {seconds:.3f} | {seconds / total:.0%} |")
    lines += ["", "Largest operators (self CPU s):", "", "| operator | s |", "|---|---|"]
    lines += [f"| `{op}` | {seconds:.3f} |" for op, seconds in r["profile"]["top_ops"].items()]
    return "\n".join(lines) + "\n"


def count(minimum: int):
    """An argparse type: an integer of at least ``minimum``."""

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise ValueError(text)
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def run_and_write(prog: str, args, run_fn, markdown_fn, stem: str) -> int:
    """Check ``--out``/``--markdown`` before any work, run, write both atomically; 2 with one line on a user error.

    Shared by the block-level CPU scripts (this one, ``attention_core.py``); ``stem`` names the
    example file in the error for a folder given as ``--out``.
    """
    from remyfold.errors import RemyfoldError
    from remyfold.io.atomic import write_text_atomic
    from remyfold.io.outputs import check_report_outputs

    args.load = os.getloadavg()
    torch.set_num_threads(args.threads)
    try:
        out, md = check_report_outputs(args.out, args.markdown, stem)
        report = run_fn(args)
    except RemyfoldError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    write_text_atomic(out, json.dumps(report, indent=1) + "\n")
    if md:
        write_text_atomic(md, markdown_fn(report))
    print(markdown_fn(report))
    return 0


def block_parser(description: str) -> argparse.ArgumentParser:
    """The options of the block-level CPU scripts: --weights, --threads, --out, --markdown."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--threads", type=count(1), default=len(os.sched_getaffinity(0)))
    parser.add_argument("--out", required=True)
    parser.add_argument("--markdown")
    return parser


def main(argv=None) -> int:
    parser = block_parser(__doc__.split("\n")[0])
    parser.add_argument("--length", type=count(1), default=256)
    parser.add_argument("--warmup", type=count(0), default=1)
    parser.add_argument("--repeats", type=count(1), default=3)
    return run_and_write("block_profile", parser.parse_args(argv), run, markdown, "profile")

if __name__ == "__main__":
    sys.exit(main())
