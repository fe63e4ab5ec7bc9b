"""The CPU memory model's peak RSS of a fold by length, weights held and paged, for a checkpoint.

Loads the checkpoint as ``remyfold predict`` does (mapped: nothing of the weights is read), so the
process base, the weight bytes (mapped per layer, mapped elsewhere, held) and the activation
model (:mod:`remyfold.model.memory`, calibrated by ``memory_calibration.py``) are those of a real
run; prints a markdown table and the longest single-pass fold within each budget. Folds nothing.

Usage: ``python bench/cpu/memory_table.py --weights /work/ckpt/full --lengths 128,256,400,1000,2000 --budgets 8,16``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

GIB = 1024**3


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", type=Path, required=True)
    p.add_argument("--lengths", default="128,256,400,1000,2000")
    p.add_argument("--budgets", default="4.5,8,16", help="GiB")
    args = p.parse_args(argv)
    from remyfold.api import Folder, auto_chunk_size
    from remyfold.memory_plan import longest_fitting

    folder = Folder.from_pretrained(args.weights, device="cpu", precision="fp32", max_memory=1 << 50)
    memory, weights = folder.memory, folder.pager.bytes
    print(f"process base {memory.base / GIB:.2f} GiB; weights: {weights.units / GIB:.2f} GiB in layers/blocks "
          f"(largest {weights.largest_unit / GIB:.3f}), {weights.mapped_other / GIB:.2f} GiB mapped elsewhere, "
          f"{weights.held / GIB:.2f} GiB held; language-model upcast buffers {memory.lm_scratch / GIB:.2f} GiB\n")
    print("| length | rows per chunk | weights held (GiB) | weights paged (GiB) |")
    print("|---:|---:|---:|---:|")
    for length in (int(n) for n in args.lengths.split(",")):
        rows = auto_chunk_size(folder.device, length, folder.model.config.trunk.pairwise_state_dim)
        held, paged = (memory.need(1, length, rows, paged=on) / GIB for on in (False, True))
        print(f"| {length:,} | {rows or 'all'} | {held:.1f} | {paged:.1f} |")
    print()
    for budget in (float(b) for b in args.budgets.split(",")):
        fits = longest_fitting(memory, int(budget * GIB), "auto", None)
        print(f"* within {budget:g} GiB: up to ~{fits:,} residues (paged, one row per chunk)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
