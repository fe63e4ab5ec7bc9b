"""Invariant point attention (AlphaFold 2 Algorithm 22).

Attention over residues whose logits combine scalar query·key products, a
pair-representation bias and the (negative, weighted) squared distances
between query and key points placed in each residue's backbone frame. The
outputs — scalar values, points pulled back into the local frame with their
norms, and attention-averaged pair features — are invariant to global rotation
and translation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from remyfold.model.primitives import float32_matmul_precision
from remyfold.model.rigid import Rigid


def point_term(q_pts: torch.Tensor, k_pts: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``-w_h/2 · Σ_p |q_ihp − k_jhp|²`` as ``[B, H, L, L]`` in matmul form (no ``[B, L, L, H, P, 3]`` tensor).

    ``|q − k|² = |q|² + |k|² − 2 q·k`` with the points first moved by their common centroid (distances
    do not change; the norms shrink to the protein's extent, which keeps the cancellation small) and
    the cross term an fp32 matmul at IEEE precision (TF32's 10-bit mantissa would not do).

    Args: q_pts, k_pts: ``[B, L, H, P, 3]`` global points.  w: ``[H]`` per-head weights.
    """
    centre = (q_pts.mean(dim=(1, 2, 3), keepdim=True) + k_pts.mean(dim=(1, 2, 3), keepdim=True)) / 2
    # [B, L, H, P, 3] -> [B, H, L, P*3]
    q = (q_pts - centre).flatten(-2).transpose(1, 2)
    k = (k_pts - centre).flatten(-2).transpose(1, 2)
    with float32_matmul_precision("highest"):
        cross = torch.matmul(q, k.transpose(-1, -2))
    # [B, H, L] squared norms summed over points
    q2, k2 = q.pow(2).sum(-1), k.pow(2).sum(-1)
    d2 = (q2.unsqueeze(-1) + k2.unsqueeze(-2)).sub_(cross, alpha=2)
    return d2.mul_(w[:, None, None] * -0.5)


class InvariantPointAttention(nn.Module):
    """Args: c_s, c_z: single / pair channels.  c_hidden: scalar channels per head.
    num_heads: heads.  num_qk_points, num_v_points: points per head.  inf, eps: mask value, norm epsilon."""

    def __init__(
        self,
        c_s: int,
        c_z: int,
        c_hidden: int,
        num_heads: int,
        num_qk_points: int,
        num_v_points: int,
        inf: float = 1e5,
        eps: float = 1e-8,
    ):
        super().__init__()
        self.c_hidden, self.num_heads = c_hidden, num_heads
        self.num_qk_points, self.num_v_points = num_qk_points, num_v_points
        self.inf, self.eps = inf, eps
        hc = c_hidden * num_heads
        self.linear_q = nn.Linear(c_s, hc)
        self.linear_kv = nn.Linear(c_s, 2 * hc)
        self.linear_q_points = nn.Linear(c_s, num_heads * num_qk_points * 3)
        self.linear_kv_points = nn.Linear(c_s, num_heads * (num_qk_points + num_v_points) * 3)
        self.linear_b = nn.Linear(c_z, num_heads)
        self.head_weights = nn.Parameter(torch.zeros(num_heads))
        self.linear_out = nn.Linear(num_heads * (c_z + c_hidden + num_v_points * 4), c_s)

    def _points(self, linear: nn.Linear, s: torch.Tensor, frames: Rigid) -> torch.Tensor:
        """Project ``s`` to local points and map them to global: ``[B, L, H, P, 3]``."""
        p = linear(s)
        # [B, L, H*P*3] -> [B, L, H*P, 3]: x, y, z stored as three contiguous blocks
        p = torch.stack(torch.split(p, p.shape[-1] // 3, dim=-1), dim=-1)
        p = frames.unsqueeze(-1).apply(p)
        return p.view(*p.shape[:2], self.num_heads, -1, 3)

    def _logits(self, s, z, frames, mask):
        """Attention logits ``[B, H, L, L]`` and the value points ``[B, L, H, P_v, 3]``."""
        # [B, L, H, C]
        q = self.linear_q(s).view(*s.shape[:2], self.num_heads, -1)
        k, v = self.linear_kv(s).view(*s.shape[:2], self.num_heads, -1).split(self.c_hidden, dim=-1)
        q_pts = self._points(self.linear_q_points, s, frames)
        k_pts, v_pts = self._points(self.linear_kv_points, s, frames).split(
            [self.num_qk_points, self.num_v_points], dim=-2
        )
        # Scalar term, [B, H, L, L]
        a = torch.matmul(q.permute(0, 2, 1, 3), k.permute(0, 2, 3, 1)) * math.sqrt(1.0 / (3 * self.c_hidden))
        a = a + math.sqrt(1.0 / 3) * self.linear_b(z).permute(0, 3, 1, 2)
        w = F.softplus(self.head_weights) * math.sqrt(1.0 / (3 * (self.num_qk_points * 9.0 / 2)))
        a = a + point_term(q_pts, k_pts, w)
        # [B, L, L] pair mask -> large negative on padding
        square = mask.unsqueeze(-1) * mask.unsqueeze(-2)
        return a + (self.inf * (square - 1)).unsqueeze(-3), v, v_pts

    def forward(self, s: torch.Tensor, z: torch.Tensor, frames: Rigid, mask: torch.Tensor) -> torch.Tensor:
        """s ``[B, L, C_s]``, z ``[B, L, L, C_z]``, frames ``[B, L]``, mask ``[B, L]`` float → ``[B, L, C_s]``."""
        logits, v, v_pts = self._logits(s, z, frames, mask)
        a = torch.softmax(logits, dim=-1)
        # Scalar values: [B, H, L, C] -> [B, L, H*C]
        o = torch.matmul(a, v.transpose(1, 2)).transpose(1, 2).flatten(-2)
        # Value points: Σ_k a_hqk v_khp· -> [B, L, H, P_v, 3], back to local frames.
        o_pt = torch.einsum("bhqk,bkhpc->bqhpc", a, v_pts)
        o_pt = frames.unsqueeze(-1).unsqueeze(-1).invert_apply(o_pt)
        o_pt_norm = torch.sqrt((o_pt**2).sum(dim=-1) + self.eps).flatten(-2)
        o_pt = o_pt.flatten(-3, -2)
        # Pair values: [B, H, L, L] x [B, L, L, C_z] -> [B, L, H, C_z] -> [B, L, H*C_z]
        o_pair = torch.matmul(a.transpose(1, 2), z).flatten(-2)
        return self.linear_out(torch.cat((o, *o_pt.unbind(-1), o_pt_norm, o_pair), dim=-1))
