"""Live-bytes memory model of one fold on the meta device: predicted peak GPU memory (issue 23).

Algorithm: the network is built on PyTorch's meta device (shapes and dtypes, no data) in the
layout a CUDA fold uses (fused SDPA, plain triangle layers, the language model in its stored
float16 or in bf16, trunk state in the mode's dtype), and one fold runs under a
``TorchDispatchMode`` that adds the bytes of every new storage an aten op returns and subtracts
them when the storage is freed (a ``weakref.finalize`` on the storage object). The peak of the
live bytes, plus the weights, is what ``torch.cuda.max_memory_allocated`` should report (less
the allocator's rounding and cuBLAS workspaces). SDPA runs as the memory-efficient kernel's own
meta function, so no full logits are counted where CUDA would not build them.

Scaling (said in the JSON): every trunk block has the same shapes and hands over the same state,
so the activations' peak of a 48-block trunk is that of ``--blocks`` (default 2) blocks; the
weights are counted for the full network. Two trunk passes (1 recycle) show the recycling peak,
which later passes repeat. The language model runs all its layers.

    python bench/gpu/memory_model.py                   # esmfold_v1 at 1,024 and 4,096 residues
    python bench/gpu/memory_model.py --config tiny.json --lengths 16,40 --out /tmp/m.json
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import subprocess
import sys
import weakref
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

ROOT = Path(__file__).resolve().parents[2]
GIB = 2**30
BUDGET_GIB = 80  # the H100's memory class: the chunk size is chosen for it (remyfold.model.memory)


class LiveBytes(TorchDispatchMode):
    """Live bytes of the storages aten ops return while active, and their peak (with the stage then)."""

    def __init__(self, resident: list[torch.Tensor]):
        super().__init__()
        self.live = self.peak = 0
        self.stage = self.peak_stage = "start"
        self._seen = {id(t.untyped_storage()) for t in resident}  # weights: counted apart

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                self._track(t.untyped_storage())
        return out

    def _track(self, storage) -> None:
        key = id(storage)
        if key in self._seen:
            return
        self._seen.add(key)
        self.live += storage.nbytes()
        weakref.finalize(storage, self._free, key, storage.nbytes())
        if self.live > self.peak:
            self.peak, self.peak_stage = self.live, self.stage

    def _free(self, key: int, nbytes: int) -> None:
        self._seen.discard(key)
        self.live -= nbytes


def efficient_sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False):
    """SDPA as CUDA's memory-efficient kernel (its meta function: output only, no logits)."""
    return torch.ops.aten._scaled_dot_product_efficient_attention(q, k, v, attn_mask, False, 0.0, False, scale=scale)[0]


def build(config, precision: str):
    """esmfold network on meta in a CUDA fold's dtypes for ``precision`` (fp32, tf32 or bf16)."""
    from remyfold.model import ESMFold

    with torch.device("meta"):
        model = ESMFold(config, attention="sdpa")
    model.init_constants()
    model = model.to("meta").eval()
    if precision == "bf16":
        model.esm.to(torch.bfloat16)
        model.hold_trunk_in(torch.bfloat16)
    else:  # esmfold_v1 stores the language model in float16; on CUDA it computes in it
        model.esm.to(torch.float16)
    return model


def weight_bytes(model) -> int:
    return sum(t.untyped_storage().nbytes() for t in [*model.parameters(), *model.buffers()])


def fold_peak(config, precision: str, length: int, chunk: int | None, blocks: int) -> dict:
    """Peak live bytes of one fold (1 recycle) of one sequence of ``length`` on meta."""
    full_weights = weight_bytes(build(config, precision))
    trunk = dataclasses.replace(config.trunk, num_blocks=min(blocks, config.trunk.num_blocks))
    model = build(dataclasses.replace(config, trunk=trunk), precision)
    aatype = torch.zeros(1, length, dtype=torch.long, device="meta")
    mask = torch.ones(1, length, dtype=torch.bool, device="meta")
    residx = torch.arange(length, device="meta")[None]
    mode = LiveBytes([*model.parameters(), *model.buffers()])
    real = F.scaled_dot_product_attention
    F.scaled_dot_product_attention = efficient_sdpa
    try:
        with torch.inference_mode(), mode:
            out = model(aatype, mask, residx, num_recycles=1, chunk_size=chunk,
                        progress=lambda stage: setattr(mode, "stage", stage))  # fmt: skip
            del out
    finally:
        F.scaled_dot_product_attention = real
    return {"length": length, "precision": precision, "chunk_size": chunk, "weights_gib": full_weights / GIB,
            "activations_gib": mode.peak / GIB, "peak_gib": (full_weights + mode.peak) / GIB,
            "peak_stage": mode.peak_stage}  # fmt: skip


def planned_chunk(config, precision: str, length: int, weights: int) -> tuple[int | None, float]:
    """Rows per chunk :class:`remyfold.api.Folder` picks with ``BUDGET_GIB`` less the weights free, and
    the bytes its rule expects (``None`` rows where the rule says the fold does not fit)."""
    from remyfold.model.memory import MemoryBudgetError, rows_within

    t = config.trunk
    try:
        plan = rows_within(BUDGET_GIB * GIB - weights, 1, length, t.pairwise_state_dim,
                           t.pairwise_state_dim // t.pairwise_head_width, 2 if precision == "bf16" else 4, True)  # fmt: skip
    except MemoryBudgetError:
        return None, float("nan")
    return plan.rows, plan.expected_bytes / GIB


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def run(config_path: Path, lengths: list[int], precisions: list[str], chunks: list[str], blocks: int) -> dict:
    from remyfold.model.config import FoldingConfig

    config = FoldingConfig.from_hf_dict(json.loads(config_path.read_text()))
    rows, done = [], {}
    for length in lengths:
        for precision in precisions:
            weights = weight_bytes(build(config, precision))
            auto, expected = planned_chunk(config, precision, length, weights)
            for chunk in chunks:
                size = auto if chunk == "auto" else (None if chunk == "none" else int(chunk))
                if chunk == "auto" and size is None and expected != expected:
                    rows.append({"length": length, "precision": precision, "chunk": "auto", "status": "does not fit"})
                    continue
                key = (length, precision, size)
                done[key] = done.get(key) or fold_peak(config, precision, length, size, blocks)
                row = done[key] | {"chunk": chunk, "rule_expected_trunk_gib": expected if chunk == "auto" else None}
                rows.append(row)
                print(json.dumps(row), flush=True)
    return {"commit": commit(), "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "torch": torch.__version__, "config": str(config_path.relative_to(ROOT) if config_path.is_relative_to(ROOT) else config_path),
            "budget_gib_for_auto_chunk": BUDGET_GIB, "trunk_blocks_run": blocks, "num_recycles": 1,
            "method": "live storage bytes under a TorchDispatchMode on meta (memory-efficient SDPA); weights counted "
                      "for the full network, trunk activations from the blocks run (every block alike)",
            "results": rows}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", type=Path, default=ROOT / "tests/data/esmfold_v1_config.json")
    p.add_argument("--lengths", default="1024,4096")
    p.add_argument("--precisions", default="fp32,bf16", help="fp32 (tf32 has fp32's memory) and/or bf16")
    p.add_argument("--chunks", default="none,auto", help="none, auto (the CUDA rule at 80 GiB) or row counts")
    p.add_argument("--blocks", type=int, default=2, help="trunk blocks run (activations repeat per block)")
    p.add_argument("--out", type=Path, default=ROOT / "bench/results/gpu-memory-model.json")
    args = p.parse_args(argv)
    report = run(args.config.resolve(), [int(x) for x in args.lengths.split(",")], args.precisions.split(","),
                 args.chunks.split(","), args.blocks)  # fmt: skip
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=1) + "\n")
    tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
