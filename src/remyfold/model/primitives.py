"""Primitives shared by the layers: multi-head attention with additive biases,
and one generic chunking wrapper that bounds peak memory.

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
    """Apply ``fn`` to slices of ``args`` along ``dim`` and concatenate the results.

    Every positional tensor argument is sliced along ``dim``; ``fn`` must be
    independent across that dimension (a batch-like axis, e.g. the row axis of
    row-wise attention). With ``chunk_size=None`` or a dimension no larger
    than the chunk, ``fn`` runs once on the whole input.

    Tensors that are size 1 along ``dim`` (broadcast inputs) are passed whole.
    """
    size = max(a.shape[dim] for a in args)
    if chunk_size is None or size <= chunk_size:
        return fn(*args)
    outputs = []
    for start in range(0, size, chunk_size):
        parts = [a if a.shape[dim] == 1 else a.narrow(dim, start, min(chunk_size, size - start)) for a in args]
        outputs.append(fn(*parts))
    return torch.cat(outputs, dim=dim)
