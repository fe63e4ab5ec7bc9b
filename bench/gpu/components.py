"""Where one prediction's time goes: language model, trunk block stack per pass, structure module per pass.

Forward hooks on ``model.esm``, the first and last trunk block and ``trunk.structure_module``
synchronise the device and read a host clock at each boundary (the synchronisation costs a
few launches' worth of time per boundary; the total is measured the same way). Everything
not inside those spans (embeddings, pair-state set-up, recycling embeddings, heads, copying the
outputs to numpy) is ``other``.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from measure import release, synchronize


@contextmanager
def _spans(model, device):
    """Collect ``(name, start, end)`` for the LM, each block-stack pass and each structure-module pass."""
    spans, open_at = [], {}

    def start(name):
        def hook(_module, _args):
            synchronize(device)
            open_at[name] = time.perf_counter()

        return hook

    def end(name):
        def hook(_module, _args, _output):
            synchronize(device)
            spans.append((name, open_at.pop(name), time.perf_counter()))

        return hook

    blocks, sm = model.trunk.blocks, model.trunk.structure_module
    handles = [
        model.esm.register_forward_pre_hook(start("lm")), model.esm.register_forward_hook(end("lm")),
        blocks[0].register_forward_pre_hook(start("trunk")), blocks[-1].register_forward_hook(end("trunk")),
        sm.register_forward_pre_hook(start("structure_module")), sm.register_forward_hook(end("structure_module")),
    ]  # fmt: skip
    try:
        yield spans
    finally:
        for handle in handles:
            handle.remove()


def component_seconds(folder, record: tuple[str, str], recycles: int) -> dict:
    """One timed ``fold_batch`` of ``record`` with per-component seconds (after a 0-recycle warm-up)."""
    device = folder.device
    folder.fold_batch([record], num_recycles=0)
    release(device)
    with _spans(folder.model, device) as spans:
        synchronize(device)
        begin = time.perf_counter()
        folder.fold_batch([record], num_recycles=recycles)
        synchronize(device)
        total = time.perf_counter() - begin
    per = {name: [e - s for n, s, e in spans if n == name] for name in ("lm", "trunk", "structure_module")}
    lm, trunk, sm = sum(per["lm"]), sum(per["trunk"]), sum(per["structure_module"])
    return {
        "total": total,
        "lm": lm,
        "trunk_passes": len(per["trunk"]),
        "trunk_per_pass": trunk / max(len(per["trunk"]), 1),
        "structure_module_per_pass": sm / max(len(per["structure_module"]), 1),
        "other": total - lm - trunk - sm,
    }


def top_kernels(folder, record: tuple[str, str], count: int = 15) -> list[dict]:
    """The ``count`` device kernels (CPU ops on a CPU) taking the most self time in one 0-recycle fold.

    One ``torch.profiler`` trace of ``fold_batch`` (one trunk pass): each row is a kernel name, its
    calls, its self time in ms and its share of the traced kernels' total — where a pass's time goes.
    """
    from torch.profiler import ProfilerActivity, profile

    device = folder.device
    on_cuda = device.type == "cuda"
    folder.fold_batch([record], num_recycles=0)  # warm-up outside the trace
    release(device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_cuda else [])
    with profile(activities=activities) as trace:
        folder.fold_batch([record], num_recycles=0)
        synchronize(device)
    rows = []
    for event in trace.key_averages():
        self_us = event.self_device_time_total if on_cuda else event.self_cpu_time_total
        if self_us > 0 and (not on_cuda or event.device_type.name == "CUDA"):
            rows.append({"name": event.key[:120], "calls": event.count, "self_ms": self_us / 1000})
    total = sum(row["self_ms"] for row in rows) or 1.0
    rows.sort(key=lambda row: row["self_ms"], reverse=True)
    return [row | {"share": row["self_ms"] / total} for row in rows[:count]]
