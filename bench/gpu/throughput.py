"""Throughput test: many short sequences, remyfold batched as ``remyfold predict`` batches them.

remyfold groups the records with :func:`remyfold.sequence.plan_batches` under predict's token budget
and folds each group with :meth:`Folder.fold_batch` (one padded forward pass), as
:mod:`remyfold.pipeline` does, without writing files. The reference folds one sequence per
call; its rate is measured on a seeded random sample of the records, which estimates its
rate on all of them without spending minutes on every one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import torch
from measure import GIB, Budget, is_oom, release, synchronize


def throughput_records(n: int, seed: int, length_range: tuple[int, int], make_sequence) -> list[tuple[str, str]]:
    """``n`` records ``(id, sequence)`` with lengths uniform in ``length_range`` (inclusive), fixed by ``seed``."""
    rng = random.Random(f"throughput-{seed}")
    lengths = [rng.randint(*length_range) for _ in range(n)]
    return [(f"t{i:04d}", make_sequence(length, f"throughput-{seed}-{i}")) for i, length in enumerate(lengths)]


def remyfold_rate(folder, records: list[tuple[str, str]], recycles: int, max_tokens: int, device: torch.device) -> dict:
    """Fold every record in predict's batches; sequences per second over the whole set (after a warm-up)."""
    from remyfold.sequence import plan_batches

    batches = plan_batches([len(seq) for _, seq in records], max_tokens)
    result = {"batches": len(batches), "precision": folder.precision, "status": "ok", "peak_gib": None}
    try:
        folder.fold_batch([records[i] for i in batches[-1]], num_recycles=0)  # warm-up on the longest batch
        release(device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        start = time.perf_counter()
        for batch in batches:
            folder.fold_batch([records[i] for i in batch], num_recycles=recycles)
        synchronize(device)
        seconds = time.perf_counter() - start
    except Exception as err:  # noqa: BLE001 - report, keep the rest of the run
        release(device)
        result["status"] = "oom" if is_oom(err) else f"error: {type(err).__name__}: {str(err).splitlines()[0]}"
        return result
    if device.type == "cuda":
        result["peak_gib"] = torch.cuda.max_memory_allocated(device) / GIB
    result.update(seconds=seconds, sequences_per_second=len(records) / seconds)
    return result


def reference_rate(fold: Callable[[str], object], records: list[tuple[str, str]], sample: int, seed: int,
                   budget: Budget, device: torch.device) -> dict:  # fmt: skip
    """Fold a seeded sample of the records one by one; stops early at the deadline (at least one is folded)."""
    rng = random.Random(f"reference-sample-{seed}")
    chosen = rng.sample(range(len(records)), min(sample, len(records)))
    fold(records[chosen[0]][1][:50])  # warm-up
    seconds, residues, folded = 0.0, 0, 0
    for i in chosen:
        sequence = records[i][1]
        if folded and not budget.allows("reference-throughput", len(sequence), 1):
            break
        synchronize(device)
        start = time.perf_counter()
        fold(sequence)
        synchronize(device)
        elapsed = time.perf_counter() - start
        budget.record("reference-throughput", len(sequence), elapsed)
        seconds, residues, folded = seconds + elapsed, residues + len(sequence), folded + 1
    return {"sampled": folded, "residues": residues, "seconds": seconds, "sequences_per_second": folded / seconds}
