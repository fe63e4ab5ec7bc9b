"""Primitives shared by the layers: multi-head attention with additive biases,
one generic chunking wrapper that bounds peak memory, and the in-place
residual addition used during inference.

Attention comes in two interchangeable implementations with the same
signature, chosen once when a module is built (:func:`select_attention`):

* ``plain``: explicit ``softmax(q·kᵀ + Σ bias)·v`` in the input dtype — the reference.
* ``sdpa``: :func:`torch.nn.functional.scaled_dot_product_attention`, which runs
  fused kernels (flash / memory-efficient) where the backend has them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

AttentionFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, Sequence[torch.Tensor]], torch.Tensor]
ATTENTION_KINDS = ("plain", "sdpa")
# Key length multiple SDPA gets (padded keys masked): its fused kernels take no unaligned mask rows.
KEY_MULTIPLE = 8


def attention_plain(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, biases: Sequence[torch.Tensor] = ()
) -> torch.Tensor:
    """Softmax attention with additive biases (reference implementation).

    Args:
        q: ``[*, H, Q, C]`` queries, already scaled by ``1/sqrt(C)``.
        k: ``[*, H, K, C]`` keys.
        v: ``[*, H, K, C_v]`` values.
        biases: tensors broadcastable to ``[*, H, Q, K]``, added to the logits.

    Returns:
        ``[*, H, Q, C_v]``.
    """
    # [*, H, Q, K]
    logits = torch.matmul(q, k.transpose(-1, -2))
    for bias in biases:
        logits = logits + bias
    return torch.matmul(torch.softmax(logits, dim=-1), v)


def attention_sdpa(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, biases: Sequence[torch.Tensor] = ()
) -> torch.Tensor:
    """Same contract as :func:`attention_plain`, through PyTorch's fused SDPA kernels.

    Inputs are laid out as CUDA's memory-efficient kernel takes them (else PyTorch falls back to
    the math path, which builds the full biased logits): 4-D ``[N, H, Q, C]`` calls (leading dims
    merged, or one call per leading index where a bias cannot be merged without a copy), one
    additive mask of q's dtype with a contiguous last dim, and the key length padded to a multiple
    of :data:`KEY_MULTIPLE` with zero keys/values masked by ``-inf`` (``exp(-inf) = 0``: the same
    function). See :func:`fused_mask`.
    """
    length = k.shape[-2]
    padded = -(-length // KEY_MULTIPLE) * KEY_MULTIPLE
    mask = fused_mask(biases, q, length, padded)
    if padded != length:
        # [*, H, K, C] -> [*, H, K8, C]: zero keys and values, masked out by -inf.
        k, v = (F.pad(t, (0, 0, 0, padded - length)) for t in (k, v))
    return _sdpa_4d(q, k, v, mask)


def fused_mask(biases: Sequence[torch.Tensor], q: torch.Tensor, length: int, padded: int) -> torch.Tensor:
    """Σ biases as one ``[*, H|1, Q|1, padded]`` mask in q's dtype, columns ``length:`` at ``-inf``.

    Broadcast dims of the biases stay size 1 (no copy per row or head); the last dim is contiguous
    and its stride a multiple of :data:`KEY_MULTIPLE` (16-byte aligned rows for 16-bit dtypes).
    """
    shape = torch.broadcast_shapes(*(b.shape for b in biases), (1,) * (q.dim() - 1) + (length,))
    # [*, Q|1, K] -> [*, Q|1, K8]
    mask = torch.empty((*shape[:-1], padded), dtype=q.dtype, device=q.device)
    mask[..., length:] = -math.inf
    body = mask[..., :length]
    if not biases:
        body.zero_()
        return mask
    body.copy_(biases[0].expand(shape))
    for bias in biases[1:]:
        body.add_(bias)
    return mask


def _sdpa_4d(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """SDPA on 4-D views: leading dims of ``q`` ``[*, H, Q, C]`` merged into one where the mask
    allows it without a copy, else one call per index of the first leading dim."""
    lead = q.shape[:-3]
    if len(lead) == 1:
        # q is pre-scaled, so SDPA's own scaling is switched off with scale=1.
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask.expand(*q.shape[:-1], mask.shape[-1]), scale=1.0)
    if len(lead) == 0:
        return _sdpa_4d(q[None], k[None], v[None], mask[None])[0]
    full = mask.expand(*q.shape[:-1], mask.shape[-1])
    if not _mergeable(full, len(lead)):
        return torch.stack([_sdpa_4d(q[i], k[i], v[i], full[i]) for i in range(lead[0])])
    n = math.prod(lead)
    # [*lead, H, Q, C] -> [N, H, Q, C]; the mask [*lead, H, Q, K8] -> [N, H, Q, K8] is a view
    flat = [t.reshape(n, *t.shape[-3:]) for t in (q, k, v, full)]
    return _sdpa_4d(*flat).view(*q.shape[:-1], v.shape[-1])


def _mergeable(t: torch.Tensor, dims: int) -> bool:
    """Whether the first ``dims`` dims of ``t`` merge into one without a copy: each dim's stride is
    the next one's stride times its size (size-1 dims aside; all of stride 0 included)."""
    kept = [(st, sz) for st, sz in zip(t.stride()[:dims], t.shape[:dims]) if sz != 1]
    return all(outer[0] == inner[0] * inner[1] for outer, inner in zip(kept, kept[1:]))


def select_attention(kind: str) -> AttentionFn:
    """Return the attention implementation named ``kind`` (one of :data:`ATTENTION_KINDS`)."""
    if kind == "plain":
        return attention_plain
    if kind == "sdpa":
        return attention_sdpa
    raise ValueError(f"unknown attention kind {kind!r}; choose one of {ATTENTION_KINDS}")


def chunked(fn: Callable[..., torch.Tensor], chunk_size: int | None, dim: int, *args: torch.Tensor) -> torch.Tensor:
    """Apply ``fn`` to slices of ``args`` along ``dim`` and assemble the results along ``dim``.

    Every positional tensor argument is sliced along ``dim``; ``fn`` must be
    independent across that dimension (a batch-like axis, e.g. the row axis of
    row-wise attention) and keep its length. With ``chunk_size=None`` or a
    dimension no larger than the chunk, ``fn`` runs once on the whole input.
    Each slice's result is copied into one output allocated after the first
    slice (peak: the output and one slice, where concatenating would hold two
    outputs' worth).

    Tensors that are size 1 along ``dim`` (broadcast inputs) are passed whole.
    """
    size = max(a.shape[dim] for a in args)
    if chunk_size is None or size <= chunk_size:
        return fn(*args)
    out = None
    for start in range(0, size, chunk_size):
        length = min(chunk_size, size - start)
        piece = fn(*(a if a.shape[dim] == 1 else a.narrow(dim, start, length) for a in args))
        if out is None:
            shape = list(piece.shape)
            shape[dim] = size
            out = piece.new_empty(shape)
        out.narrow(dim, start, length).copy_(piece)
    return out


def in_place_allowed(x: torch.Tensor) -> bool:
    """Whether updates may be added into ``x`` itself: autograd is off and ``x`` is a contiguous
    floating tensor (the trunk's updates have ``x``'s dtype, or a narrower one that widens into it;
    :func:`residual_add` checks the result type)."""
    return not torch.is_grad_enabled() and x.is_contiguous() and x.is_floating_point()


@contextlib.contextmanager
def float32_matmul_precision(precision: str):
    """Within the block, fp32 matmuls run at ``precision`` (``torch.set_float32_matmul_precision``:
    ``highest`` = IEEE fp32, ``high`` = TF32 on CUDA); the previous setting is restored on exit.

    The process-wide setting is the only switch PyTorch has; it is changed for the block's duration
    only (not thread-safe: one fold at a time per process, as :class:`remyfold.api.Folder` runs).
    """
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(precision)
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


def residual_add(x: torch.Tensor, update: torch.Tensor) -> torch.Tensor:
    """``x + update``, summed into ``x`` when :func:`in_place_allowed` (the same values: one fp add).

    ``x`` must be the caller's own tensor, not needed afterwards: it may be overwritten. Saves one
    pair-sized tensor per residual connection of the trunk during inference.
    """
    same = torch.result_type(x, update) == x.dtype and torch.broadcast_shapes(x.shape, update.shape) == x.shape
    if same and in_place_allowed(x):
        return x.add_(update)
    return x + update


def residual_update_(layer, kernel_add: str, z: torch.Tensor, mask: torch.Tensor, chunk_size: int | None) -> torch.Tensor:
    """``z + layer(z, mask, chunk_size)`` for a pair layer, summed into ``z`` during inference.

    Where the layer's kernel has the method ``kernel_add`` (``kernel_add(layer, z, mask, chunk_size)``
    adds the update into ``z`` a block of rows at a time) and :func:`in_place_allowed`, it is used;
    otherwise the whole update is computed and :func:`residual_add` sums it.
    """
    add = getattr(layer.kernel, kernel_add, None)
    if add is not None and in_place_allowed(z):
        return add(layer, z, mask, chunk_size)
    return residual_add(z, layer(z, mask, chunk_size))
