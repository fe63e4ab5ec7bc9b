"""Triangular self-attention around the starting / ending node (AlphaFold 2 Algorithms 13 and 14).

Row-wise gated multi-head attention over the pair representation, biased by a
projection of the pair itself (the "third edge" of each triangle)::

    z = LN(z);  b_hij = W_b z_ij
    o_ij = gate_ij · Σ_k softmax_k(q_ij·k_ik / sqrt(c) + b_hjk + mask) v_ik

The ending-node variant runs the same on the transposed pair representation.
Rows are independent, so ``chunk_size`` processes a block of rows at a time
(:func:`remyfold.model.primitives.chunked`). An optional fused kernel (``kernel``,
see :mod:`remyfold.model.kernels`) may replace :meth:`TriangleAttention.forward_plain`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from remyfold.model.primitives import attention_sdpa, chunked, residual_update_, select_attention


class GatedAttention(nn.Module):
    """Gated multi-head attention with additive biases (AlphaFold 2 "Attention" primitive).

    Args: c_in: input channels.  c_hidden: channels per head.  num_heads: heads.
        attention: implementation name (see :func:`select_attention`).
    """

    def __init__(self, c_in: int, c_hidden: int, num_heads: int, attention: str = "plain"):
        super().__init__()
        self.num_heads, self.c_hidden = num_heads, c_hidden
        self.linear_q = nn.Linear(c_in, c_hidden * num_heads, bias=False)
        self.linear_k = nn.Linear(c_in, c_hidden * num_heads, bias=False)
        self.linear_v = nn.Linear(c_in, c_hidden * num_heads, bias=False)
        self.linear_g = nn.Linear(c_in, c_hidden * num_heads)
        self.linear_o = nn.Linear(c_hidden * num_heads, c_in)
        self.attention = select_attention(attention)

    def project(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x ``[*, Q, C_in]`` → unscaled q, k, v ``[*, H, Q, C]``."""
        # [*, Q, H*C] -> [*, H, Q, C]
        heads = lambda t: t.view(*t.shape[:-1], self.num_heads, self.c_hidden).transpose(-2, -3)  # noqa: E731
        return heads(self.linear_q(x)), heads(self.linear_k(x)), heads(self.linear_v(x))

    def output(self, x: torch.Tensor, o: torch.Tensor) -> torch.Tensor:
        """Gate and project the attended values ``o`` ``[*, H, Q, C]`` back to ``[*, Q, C_in]``."""
        # [*, H, Q, C] -> [*, Q, H*C]
        o = o.transpose(-2, -3).reshape(*x.shape[:-1], -1)
        return self.linear_o(o * torch.sigmoid(self.linear_g(x)))

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor, pair_bias: torch.Tensor) -> torch.Tensor:
        """x ``[*, Q, C_in]``; biases broadcast to ``[*, H, Q, K]``; returns ``[*, Q, C_in]``."""
        q, k, v = self.project(x)
        o = self.attention(q / math.sqrt(self.c_hidden), k, v, (mask_bias, pair_bias))
        return self.output(x, o)


class TriangleAttention(nn.Module):
    """Args: c_z: pair channels.  c_hidden: channels per head.  num_heads: heads.
    starting: around the starting node (True) or the ending node (False).  inf: mask magnitude."""

    def __init__(self, c_z: int, c_hidden: int, num_heads: int, starting: bool, inf: float = 1e9, attention: str = "plain"):
        super().__init__()
        self.starting, self.inf = starting, inf
        self.layer_norm = nn.LayerNorm(c_z)
        self.linear = nn.Linear(c_z, num_heads, bias=False)
        self.mha = GatedAttention(c_z, c_hidden, num_heads, attention)
        self.kernel = None  # optional fused replacement of forward_plain (remyfold.model.kernels)

    def forward(self, z: torch.Tensor, mask: torch.Tensor, chunk_size: int | None = None) -> torch.Tensor:
        """z ``[B, N_res, N_res, C_z]``, mask ``[B, N_res, N_res]``; returns the update, same shape as z."""
        if self.kernel is not None:
            return self.kernel.triangle_attention(self, z, mask, chunk_size)
        return self.forward_plain(z, mask, chunk_size)

    def residual_(self, z: torch.Tensor, mask: torch.Tensor, chunk_size: int | None = None) -> torch.Tensor:
        """``z + self(z, mask, chunk_size)``, summed into ``z`` itself during inference (``z`` is overwritten).

        A kernel with ``add_triangle_attention`` adds a block of rows at a time (no full-size update).
        """
        return residual_update_(self, "add_triangle_attention", z, mask, chunk_size)

    def forward_plain(self, z: torch.Tensor, mask: torch.Tensor, chunk_size: int | None = None) -> torch.Tensor:
        """The PyTorch implementation of :meth:`forward` (the reference every kernel is tested against)."""
        if not self.starting:
            z, mask = z.transpose(-2, -3), mask.transpose(-1, -2)
        z = self.layer_norm(z)
        mask_bias = self._mask_bias(mask, z.dtype)
        # [B, I, J, H] -> [B, 1, H, J, K]: the same triangle bias for every row i.
        pair_bias = self.linear(z).permute(0, 3, 1, 2).unsqueeze(1)
        # Rows i (dim 1) are independent: chunk over them.
        out = chunked(lambda zc, mc: self.mha(zc, mc, pair_bias), chunk_size, 1, z, mask_bias)
        return out.transpose(-2, -3) if not self.starting else out

    def _mask_bias(self, mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """Additive mask for pair mask ``[B, I, K]`` (layer frame): padding keys get -inf (large negative).

        Plain attention: ``[B, I, 1, 1, K]``, row i's own mask. Fused SDPA: ``[B, 1, 1, 1, K]``, a key
        is masked when no row keeps it (for an outer-product mask, row i's mask on every unpadded
        row), so the bias has no row axis and SDPA gets it without a copy per row; padded rows then
        attend to the unpadded keys instead of none. Padded rows' outputs differ between the two
        and are never read: every later use of an entry (i, ·) with i padded is masked.
        """
        if self.mha.attention is attention_sdpa:
            # [B, I, K] -> [B, 1, 1, 1, K]
            return (self.inf * (mask.any(dim=-2).to(dtype) - 1))[:, None, None, None, :]
        # [B, I, 1, 1, K]
        return (self.inf * (mask.to(dtype) - 1))[..., :, None, None, :]
