"""One block of the ESMFold folding trunk (Lin et al. 2023, Fig. S1).

A simplified Evoformer block acting on a single sequence: the sequence state
``s`` ``[B, N_res, C_s]`` attends to itself with a bias from the pair state
``z`` ``[B, N_res, N_res, C_z]``; ``s`` then updates ``z`` (outer product and
difference), and ``z`` goes through the triangular multiplicative updates,
the triangular attentions and a transition MLP.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from remyfold.model.primitives import chunked, in_place_allowed, residual_add, select_attention
from remyfold.model.triangular_attention import TriangleAttention
from remyfold.model.triangular_multiplication import TriangleMultiplicativeUpdate


class SequenceAttention(nn.Module):
    """Gated self-attention over residues with an additive per-head pair bias.

    Args: dim: C_s.  num_heads: heads (``dim // head_width``).  attention: implementation name.
    """

    def __init__(self, dim: int, num_heads: int, attention: str = "plain"):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.proj = nn.Linear(dim, dim * 3, bias=False)
        self.o_proj = nn.Linear(dim, dim)
        self.g_proj = nn.Linear(dim, dim)
        self.attention = select_attention(attention)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """x ``[B, L, C_s]``, mask ``[B, L]`` bool, bias ``[B, L, L, H]`` → ``[B, L, C_s]``."""
        # [B, L, 3*C_s] -> [B, H, L, 3*C]; q, k, v interleaved per head as in ESMFold.
        t = self.proj(x).view(*x.shape[:2], self.num_heads, -1).permute(0, 2, 1, 3)
        q, k, v = t.chunk(3, dim=-1)
        q = q * self.head_dim**-0.5
        key_bias = torch.zeros(mask.shape, dtype=x.dtype, device=x.device).masked_fill(~mask, -math.inf)
        # bias [B, L, L, H] -> [B, H, L, L]; padding keys [B, 1, 1, L]
        y = self.attention(q, k, v, (bias.permute(0, 3, 1, 2), key_bias[:, None, None, :]))
        # [B, H, L, C] -> [B, L, H*C]
        y = y.transpose(1, 2).reshape(x.shape)
        return self.o_proj(torch.sigmoid(self.g_proj(x)) * y)


class SequenceToPair(nn.Module):
    """Pair update from the sequence state: ``W_o [q_j·k_i, q_j − k_i]`` (outer product and difference)."""

    def __init__(self, c_s: int, inner: int, c_z: int):
        super().__init__()
        self.layernorm = nn.LayerNorm(c_s)
        self.proj = nn.Linear(c_s, inner * 2)
        self.o_proj = nn.Linear(2 * inner, c_z)
        self.block_bytes: int | None = None  # see TrunkBlock.block_for_cache

    def forward(self, s: torch.Tensor, chunk_size: int | None = None) -> torch.Tensor:
        """s ``[B, L, C_s]`` → ``[B, L, L, C_z]``, ``chunk_size`` rows ``i`` at a time."""
        q, k = self.proj(self.layernorm(s)).chunk(2, dim=-1)
        # [B, 1, L, C] and [B, L, 1, C]: entry (i, j) pairs q_j with k_i; rows i follow k.
        return chunked(self._rows, chunk_size, 1, q[:, None, :, :], k[:, :, None, :])

    def residual_(self, s: torch.Tensor, z: torch.Tensor, chunk_size: int | None = None) -> torch.Tensor:
        """``z + self(s)``, summed into ``z`` a block of rows at a time during inference (``z`` is overwritten)."""
        if not in_place_allowed(z):
            return residual_add(z, self(s, chunk_size))
        q, k = self.proj(self.layernorm(s)).chunk(2, dim=-1)
        step = row_step(z, chunk_size, self.block_bytes)
        for start in range(0, z.shape[1], step):
            rows = z[:, start : start + step]
            rows += self._rows(q[:, None, :, :], k[:, start : start + step, None, :])
        return z

    def _rows(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """q ``[B, 1, L, C]``, k ``[B, R, 1, C]`` → rows ``[B, R, L, C_z]``."""
        return self.o_proj(torch.cat([q * k, q - k], dim=-1))


class PairToSequence(nn.Module):
    """Per-head attention bias from the pair state: ``W LN(z)`` ``[B, L, L, H]``."""

    def __init__(self, c_z: int, num_heads: int):
        super().__init__()
        self.layernorm = nn.LayerNorm(c_z)
        self.linear = nn.Linear(c_z, num_heads, bias=False)
        self.block_bytes: int | None = None  # see TrunkBlock.block_for_cache

    def forward(self, z: torch.Tensor, chunk_size: int | None = None) -> torch.Tensor:
        """z ``[B, L, L, C_z]`` → ``[B, L, L, H]``, ``chunk_size`` rows at a time (fewer with ``block_bytes``)."""
        return chunked(lambda rows: self.linear(self.layernorm(rows)), row_step(z, chunk_size, self.block_bytes), 1, z)


class ResidueMLP(nn.Module):
    """Residual transition ``x + W_2 relu(W_1 LN(x))`` (parameter names follow ESMFold's ``mlp.{0,1,3}``).

    Args: dim: channels of ``x``.  inner: channels of the hidden layer.
    """

    def __init__(self, dim: int, inner: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, inner), nn.ReLU(), nn.Linear(inner, dim))
        self.block_bytes: int | None = None  # see TrunkBlock.block_for_cache

    def forward(self, x: torch.Tensor, chunk_size: int | None = None) -> torch.Tensor:
        # A block of rows at a time: for the pair state the 4x wider hidden layer dominates memory.
        return chunked(lambda rows: rows + self.mlp(rows), chunk_size, 1, x)

    def residual_(self, x: torch.Tensor, chunk_size: int | None = None) -> torch.Tensor:
        """:meth:`forward`, summed into ``x`` itself during inference (``x`` is overwritten).

        ``chunk_size`` rows at a time; with :attr:`block_bytes` set, ``x`` ``[..., C]`` is taken as
        positions ``[P, C]`` (a view: the transition acts on each position alone) and run a block of
        positions at a time whose hidden layer ``[p, inner]`` fits in ``block_bytes``, the ReLU in
        place. Every position gets the same operations either way.
        """
        if not in_place_allowed(x):
            return self(x, chunk_size)
        if self.block_bytes is None:
            step = chunk_size or x.shape[1]
            for start in range(0, x.shape[1], step):
                rows = x[:, start : start + step]
                rows += self.mlp(rows)
            return x
        norm, up, down = self.mlp[0], self.mlp[1], self.mlp[3]
        # [..., C] -> [P, C]: one row per position (x is contiguous)
        positions = x.view(-1, x.shape[-1])
        step = max(1, self.block_bytes // (up.out_features * x.element_size()))
        for start in range(0, positions.shape[0], step):
            block = positions[start : start + step]
            block += down(up(norm(block)).relu_())
        return x


def row_step(z: torch.Tensor, chunk_size: int | None, block_bytes: int | None) -> int:
    """Rows of ``z`` ``[B, N, N, C]`` per block: ``chunk_size`` (default all), within ``block_bytes`` of rows."""
    step = chunk_size or z.shape[1]
    if block_bytes:
        step = min(step, max(1, block_bytes // (z[:, 0].numel() * z.element_size())))
    return step


class TrunkBlock(nn.Module):
    """Triangular self-attention block.

    Args: c_s, c_z: sequence / pair channels.  seq_head_width, pair_head_width: channels per head.
        attention: implementation name for every attention in the block.
    """

    def __init__(self, c_s: int, c_z: int, seq_head_width: int, pair_head_width: int, attention: str = "plain"):
        super().__init__()
        seq_heads, pair_heads = c_s // seq_head_width, c_z // pair_head_width
        self.layernorm_1 = nn.LayerNorm(c_s)
        self.sequence_to_pair = SequenceToPair(c_s, c_z // 2, c_z)
        self.pair_to_sequence = PairToSequence(c_z, seq_heads)
        self.seq_attention = SequenceAttention(c_s, seq_heads, attention)
        self.tri_mul_out = TriangleMultiplicativeUpdate(c_z, outgoing=True)
        self.tri_mul_in = TriangleMultiplicativeUpdate(c_z, outgoing=False)
        self.tri_att_start = TriangleAttention(c_z, pair_head_width, pair_heads, starting=True, attention=attention)
        self.tri_att_end = TriangleAttention(c_z, pair_head_width, pair_heads, starting=False, attention=attention)
        self.mlp_seq = ResidueMLP(c_s, 4 * c_s)
        self.mlp_pair = ResidueMLP(c_z, 4 * c_z)

    def block_for_cache(self, block_bytes: int | None) -> None:
        """Run the pair updates outside the triangle layers (pair bias, outer product, transitions) in
        blocks whose widest temporary fits ``block_bytes`` (a CPU core's cache), not in chunks of
        rows: their elementwise passes then read cache, not memory. ``None`` (default): chunks of
        rows. The same operations per position either way."""
        for module in (self.pair_to_sequence, self.sequence_to_pair, self.mlp_seq, self.mlp_pair):
            module.block_bytes = block_bytes

    def forward(
        self, s: torch.Tensor, z: torch.Tensor, mask: torch.Tensor, chunk_size: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """s ``[B, L, C_s]``, z ``[B, L, L, C_z]``, mask ``[B, L]`` bool → updated (s, z).

        During inference ``z`` is overwritten with the result (the caller's pair state is consumed).
        """
        bias = self.pair_to_sequence(z, chunk_size)
        s = s + self.seq_attention(self.layernorm_1(s), mask, bias)
        s = self.mlp_seq(s)
        # During inference every update is summed into z itself (the caller hands its pair state over:
        # it is overwritten), so no second pair-sized state is held across the block.
        z = self.sequence_to_pair.residual_(s, z, chunk_size)
        # [B, L, L] pair mask
        pair_mask = mask.unsqueeze(2) & mask.unsqueeze(1)
        for layer in (self.tri_mul_out, self.tri_mul_in, self.tri_att_start, self.tri_att_end):
            z = layer.residual_(z, pair_mask, chunk_size)
        return s, self.mlp_pair.residual_(z, chunk_size)
