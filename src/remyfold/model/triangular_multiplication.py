"""Triangular multiplicative update (AlphaFold 2 Algorithms 11 and 12).

For the pair representation ``z`` ``[*, N_res, N_res, C_z]``, the "outgoing"
update combines edges ``ik`` and ``jk``, the "incoming" update edges ``ki``
and ``kj``::

    a, b = mask · sigmoid(W_ag z) · W_ap z,   mask · sigmoid(W_bg z) · W_bp z
    x_ij = Σ_k a_ik b_jk          (outgoing)      x_ij = Σ_k a_ki b_kj   (incoming)
    out  = sigmoid(W_g z) · W_z LN(x)

The contraction over ``k`` is a batched matrix product per channel; with a
``chunk_size`` it is done a block of output rows at a time to bound memory.
An optional fused kernel (``kernel``, see :mod:`remyfold.model.kernels`) may
replace :meth:`TriangleMultiplicativeUpdate.forward_plain`.
"""

from __future__ import annotations

import torch
from torch import nn

from remyfold.model.primitives import chunked, residual_update_


class TriangleMultiplicativeUpdate(nn.Module):
    """Args: c_z: pair channels.  outgoing: Algorithm 11 (True) or 12 (False)."""

    def __init__(self, c_z: int, outgoing: bool):
        super().__init__()
        self.outgoing = outgoing
        self.layer_norm_in = nn.LayerNorm(c_z)
        self.layer_norm_out = nn.LayerNorm(c_z)
        self.linear_a_p = nn.Linear(c_z, c_z)
        self.linear_a_g = nn.Linear(c_z, c_z)
        self.linear_b_p = nn.Linear(c_z, c_z)
        self.linear_b_g = nn.Linear(c_z, c_z)
        self.linear_g = nn.Linear(c_z, c_z)
        self.linear_z = nn.Linear(c_z, c_z)
        self.kernel = None  # optional fused replacement of forward_plain (remyfold.model.kernels)

    def _projections(self, z: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Gated, masked projections ``a``, ``b`` as ``[*, C_z, N_res, N_res]`` ready to multiply."""
        a = mask * torch.sigmoid(self.linear_a_g(z)) * self.linear_a_p(z)
        b = mask * torch.sigmoid(self.linear_b_g(z)) * self.linear_b_p(z)
        # Channel-first so the k-contraction is a batched matmul:
        # outgoing x[c,i,j] = Σ_k a[c,i,k] b[c,j,k] -> a[c,i,k] @ b[c,k,j]
        # incoming x[c,i,j] = Σ_k a[c,k,i] b[c,k,j] -> a[c,i,k] @ b[c,k,j]
        if self.outgoing:
            return a.permute(*range(a.dim() - 3), -1, -3, -2), b.permute(*range(b.dim() - 3), -1, -2, -3)
        return a.permute(*range(a.dim() - 3), -1, -2, -3), b.permute(*range(b.dim() - 3), -1, -3, -2)

    def forward(self, z: torch.Tensor, mask: torch.Tensor, chunk_size: int | None = None) -> torch.Tensor:
        """Args: z ``[*, N_res, N_res, C_z]``, mask ``[*, N_res, N_res]``; returns the update, same shape as z."""
        if self.kernel is not None:
            return self.kernel.triangle_multiplication(self, z, mask, chunk_size)
        return self.forward_plain(z, mask, chunk_size)

    def residual_(self, z: torch.Tensor, mask: torch.Tensor, chunk_size: int | None = None) -> torch.Tensor:
        """``z + self(z, mask, chunk_size)``, summed into ``z`` itself during inference (``z`` is overwritten).

        A kernel with ``add_triangle_multiplication`` adds a block of rows at a time (no full-size update).
        """
        return residual_update_(self, "add_triangle_multiplication", z, mask, chunk_size)

    def forward_plain(self, z: torch.Tensor, mask: torch.Tensor, chunk_size: int | None = None) -> torch.Tensor:
        """The PyTorch implementation of :meth:`forward` (the reference every kernel is tested against)."""
        z = self.layer_norm_in(z)
        a, b = self._projections(z, mask.unsqueeze(-1).to(z.dtype))
        # [*, C_z, N_res, N_res], a block of rows i at a time; then channels last.
        x = chunked(lambda rows: torch.matmul(rows, b), chunk_size, -2, a).movedim(-3, -1)
        del a, b
        x = self.linear_z(self.layer_norm_out(x))
        return x * torch.sigmoid(self.linear_g(z))
