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

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

AttentionFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, Sequence[torch.Tensor]], torch.Tensor]
ATTENTION_KINDS = ("plain", "sdpa")


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
    """Same contract as :func:`attention_plain`, through PyTorch's fused SDPA kernels."""
    bias = None
    for b in biases:
        bias = b if bias is None else bias + b
    if bias is not None:
        # SDPA wants the mask broadcastable to [*, H, Q, K] in the query dtype.
        bias = bias.to(q.dtype).expand(*q.shape[:-1], k.shape[-2])
    # q is pre-scaled, so SDPA's own scaling is switched off with scale=1.
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1.0)


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
    fp32/fp64 tensor (no update of the trunk is wider: low-precision updates widen into it)."""
    return not torch.is_grad_enabled() and x.is_contiguous() and x.dtype in (torch.float32, torch.float64)


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
