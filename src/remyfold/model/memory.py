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


# ---- The CPU: a whole fold's activations by phase (issue 24) ----------------------------------
# Calibrated on the CPU with esmfold_v1's dimensions, one LM layer and one trunk block
# (bench/cpu/memory_calibration.py, bench/results/cpu-memory-calibration.json: peak RSS above the
# RSS before a one-pass fold, 64 to 1,024 residues, unchunked and chunked). A least-squares fit gives
# 6.3 pair copies + 6.0 x C_z per chunk element; the constants below bound every measured point
# from above (by 0.04-0.54 GiB). Single points need 3.3-4.8 pair copies up to 512 residues, 6.8 at
# 768 and 5.9 at 1,024; beyond 1,024 residues the model extrapolates: check it against measured
# full-size peaks (bench/cpu/cpu_bench.py records both).
# Language model: hidden-state-sized tensors per token besides the stack of all layers' states
# (the layer's LayerNorm, q, k, v, attention output, residuals), in units of [B, L+2, D] fp32.
CPU_LM_WIDTH = 12
# Copies of the attention logits [B, H, L+2, L+2] fp32 alive at once (logits, softmax, weights).
CPU_LM_LOGIT_COPIES = 3
# Pair-sized tensors [B, L, L, C_z] alive at the trunk's peak outside a chunk (fit: 6.3).
CPU_PAIR_COPIES = 7
# Per pair element of a chunk, in units of C_z at the state's dtype (fit: 6.0). The CPU's blocked
# triangle kernels never hold a chunk's [rows, H, L, L] attention logits.
CPU_CHUNK_WIDTH = 8
# Everything else a fold holds whatever its length (the fit's constant, rounded up): 0.1 GiB.
CPU_FIXED_BYTES = 100 << 20
# Pair-sized fp32 tensors alive while the structure module and the heads run (z, its projection,
# the distogram and PAE logits, the PAE), in units of [B, L, L, C_z] fp32; below the trunk's peak.
CPU_HEAD_PAIR_COPIES = 4


@dataclass(frozen=True)
class FoldDims:
    """The dimensions a fold's activations scale with (from the network's config).

    Attributes: lm_layers, lm_hidden, lm_heads, lm_ffn: ESM-2.  c_z: pair channels.
        state_bytes: bytes per element of the trunk's state.
    """

    lm_layers: int
    lm_hidden: int
    lm_heads: int
    lm_ffn: int
    c_z: int
    state_bytes: int = 4


def cpu_phase_bytes(dims: FoldDims, batch: int, length: int, rows: int | None) -> dict[str, int]:
    """Activation bytes of a CPU fold of ``batch`` x ``length`` residues at each phase's peak.

    ``rows``: rows per chunk of the pair-state operations (``None``: unchunked). Phases: the
    language model (its stack of ``layers + 1`` hidden states, a layer's temporaries, its attention
    logits), the trunk's blocks (resident pair copies plus one chunk) and the structure module
    with the heads (pair-sized fp32 tensors).
    """
    tokens = length + 2
    lm = (batch * tokens * dims.lm_hidden * 4 * (2 * (dims.lm_layers + 1) + CPU_LM_WIDTH)
          + batch * tokens * dims.lm_ffn * 4 * 2 + batch * dims.lm_heads * tokens * tokens * 4 * CPU_LM_LOGIT_COPIES)  # fmt: skip
    pair = batch * length * length * dims.c_z * dims.state_bytes
    chunk_rows = length if rows is None else min(rows, length)
    # One row of a chunk: [B, 1, L, C_z]-shaped pieces.
    per_row = batch * length * dims.c_z * dims.state_bytes * CPU_CHUNK_WIDTH
    trunk = CPU_PAIR_COPIES * pair + chunk_rows * per_row
    heads = CPU_HEAD_PAIR_COPIES * batch * length * length * dims.c_z * 4
    phases = {"language model": lm, "trunk": trunk, "structure module and heads": heads}
    return {name: CPU_FIXED_BYTES + value for name, value in phases.items()}


def cpu_activation_bytes(dims: FoldDims, batch: int, length: int, rows: int | None) -> int:
    """Peak activation bytes of a CPU fold: the largest phase of :func:`cpu_phase_bytes`."""
    return max(cpu_phase_bytes(dims, batch, length, rows).values())
