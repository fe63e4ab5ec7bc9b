"""How many rows of the pair state one chunk may take within a memory budget (issue 23).

A fold's memory is the pair state held across the trunk (a few pair-sized tensors: the state, its
layer-normed copy, the triangular update's projections) plus what one chunk of rows allocates
(the pair transition's 4x wider hidden layer, the attention's q/k/v/gate and, where no fused
kernel runs, its logits). :func:`rows_within` sizes the chunk so that both fit in a budget, and
no single chunk tensor exceeds 2**31 elements (kernels with 32-bit indexing break silently above
it: ESMFold's silently wrong structures past ~1,050 residues without a chunk size). The factors
below are upper bounds checked against the live-bytes model (``bench/gpu/memory_model.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

# Pair-sized tensors (in units of [B, L, L, C_z] at the state's dtype) live at the trunk's peak,
# outside any chunk: 6.3 in the live-bytes model at 4,096 residues, fp32 and bf16, chunks of 64 and 1,023
# rows (bench/results/gpu-memory-model.json); 7 keeps the rule an upper bound.
RESIDENT_PAIR_COPIES = 7
# Per pair element of a chunk, in units of C_z at the state's dtype: the transition's hidden layer
# (4) and its activation (4), q, k, v, gate and output of the triangle attention (5).
CHUNK_PAIR_WIDTH = 9
INT32_ELEMENTS = 2**31 - 1


class MemoryBudgetError(ValueError):
    """The fold does not fit in the memory budget at any chunk size."""


@dataclass(frozen=True)
class ChunkPlan:
    """Rows per chunk (``None``: unchunked) and the bytes the trunk is expected to need with it."""

    rows: int | None
    expected_bytes: int


def rows_within(budget: int, batch: int, length: int, c_z: int, heads: int, state_bytes: int,
                fused_attention: bool) -> ChunkPlan:  # fmt: skip
    """The largest chunk (rows of the pair state) whose fold fits in ``budget`` bytes.

    Args: budget: bytes free for the fold.  batch, length: padded batch shape.  c_z: pair channels.
        heads: triangle-attention heads.  state_bytes: bytes per element of the pair state.
        fused_attention: SDPA's fused kernels run (no ``[rows, H, L, L]`` logits per chunk).

    Raises: :class:`MemoryBudgetError` when even one row does not fit.
    """
    pair = batch * length * length * c_z * state_bytes
    resident = RESIDENT_PAIR_COPIES * pair
    # Bytes per row of a chunk: [B, 1, L, C]-shaped pieces, plus fp32 logits [B, 1, H, L, L] if unfused.
    per_row = batch * length * c_z * state_bytes * CHUNK_PAIR_WIDTH
    logits_row = 0 if fused_attention else batch * heads * length * length * 4
    per_row += logits_row
    max_rows = (budget - resident) // per_row if budget > resident else 0
    widest_row = batch * length * 4 * c_z if fused_attention else max(batch * length * 4 * c_z, batch * heads * length * length)
    max_rows = min(max_rows, INT32_ELEMENTS // widest_row)
    if max_rows < 1:
        need = resident + per_row
        raise MemoryBudgetError(f"folding {batch} x {length} residues needs about {need / 2**30:.2f} GiB, "
                                f"{budget / 2**30:.2f} GiB are available")  # fmt: skip
    rows = None if max_rows >= length else int(max_rows)
    return ChunkPlan(rows, resident + per_row * (rows or length))
