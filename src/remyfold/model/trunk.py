"""The ESMFold folding trunk with recycling (Lin et al. 2023; recycling as in AlphaFold 2 Algorithm 2).

Each recycle runs the block stack on the initial states plus embeddings of
the previous recycle's outputs (LayerNorm of ``s`` and ``z``, and a distogram
of the previous structure's virtual Cβ atoms), then the structure module.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from remyfold.model.primitives import chunked, residual_add
from remyfold.model.trunk_block import TrunkBlock

RECYCLE_BINS = 15
RECYCLE_MIN_BIN, RECYCLE_MAX_BIN = 3.375, 21.375


class RelativePosition(nn.Module):
    """Clipped relative-position embedding of residue index pairs; index 0 is kept for masked pairs."""

    def __init__(self, bins: int, c_z: int):
        super().__init__()
        self.bins = bins
        self.embedding = nn.Embedding(2 * bins + 2, c_z)

    def forward(self, residue_index: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """residue_index, mask ``[B, L]`` → ``[B, L, L, C_z]``."""
        # [B, L, L]: entry (i, j) = r_j - r_i
        diff = residue_index[:, None, :] - residue_index[:, :, None]
        diff = diff.clamp(-self.bins, self.bins) + self.bins + 1
        diff = diff.masked_fill(~(mask[:, None, :] & mask[:, :, None]), 0)
        return self.embedding(diff)


def recycle_distogram(backbone: torch.Tensor) -> torch.Tensor:
    """Bin indices of distances between virtual Cβ atoms.

    Args:
        backbone: ``[B, L, 3, 3]`` N, CA, C coordinates (Å).

    Returns:
        ``[B, L, L]`` int64 bin (0..14) with boundaries ``linspace(3.375, 21.375, 14)``.
    """
    boundaries = torch.linspace(RECYCLE_MIN_BIN, RECYCLE_MAX_BIN, RECYCLE_BINS - 1, device=backbone.device) ** 2
    n, ca, c = backbone.unbind(-2)
    b, c = ca - n, c - ca
    # Ideal Cβ from the backbone (AlphaFold 2 supplement 1.9.1 constants).
    cb = -0.58273431 * torch.linalg.cross(b, c, dim=-1) + 0.56802827 * b - 0.54067466 * c + ca
    dist2 = (cb[..., None, :, :] - cb[..., :, None, :]).pow(2).sum(dim=-1, keepdim=True)
    return (dist2 > boundaries).sum(dim=-1)


class FoldingTrunk(nn.Module):
    """Block stack + recycling embeddings + projections into the structure module.

    Args: num_blocks, c_s, c_z, seq_head_width, pair_head_width, position_bins: trunk dimensions.
        structure_module: the structure module run after each pass.  attention: attention implementation name.
    """

    def __init__(
        self,
        num_blocks: int,
        c_s: int,
        c_z: int,
        seq_head_width: int,
        pair_head_width: int,
        position_bins: int,
        structure_module: nn.Module,
        attention: str = "plain",
    ):
        super().__init__()
        self.pairwise_positional_embedding = RelativePosition(position_bins, c_z)
        self.blocks = nn.ModuleList(
            TrunkBlock(c_s, c_z, seq_head_width, pair_head_width, attention) for _ in range(num_blocks)
        )
        self.recycle_s_norm = nn.LayerNorm(c_s)
        self.recycle_z_norm = nn.LayerNorm(c_z)
        self.recycle_disto = nn.Embedding(RECYCLE_BINS, c_z)
        self.structure_module = structure_module
        self.trunk2sm_s = nn.Linear(c_s, structure_module.layer_norm_s.normalized_shape[0])
        self.trunk2sm_z = nn.Linear(c_z, structure_module.layer_norm_z.normalized_shape[0])

    @property
    def state_dtype(self) -> torch.dtype:
        """Dtype of the sequence and pair state: the trunk weights' (see ``ESMFold.hold_trunk_in``)."""
        return self.recycle_s_norm.weight.dtype

    def _structure(self, s, z, aatype, mask, chunk_size) -> dict[str, torch.Tensor]:
        """Structure module in its own dtype (fp32), whatever the trunk's; the pair projection is
        converted a block of rows at a time (no full copy of ``z`` in fp32)."""
        dtype = self.trunk2sm_s.weight.dtype
        s_sm = self.trunk2sm_s(s.to(dtype))
        z_sm = chunked(lambda rows: self.trunk2sm_z(rows.to(dtype)), chunk_size, 1, z)
        return self.structure_module(s_sm, z_sm, aatype, mask.to(dtype))

    def forward(
        self,
        s0: torch.Tensor,
        residue_index: torch.Tensor,
        mask: torch.Tensor,
        aatype: torch.Tensor,
        num_recycles: int,
        chunk_size: int | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Run ``num_recycles + 1`` passes. The initial pair state is zero (ESMFold's ``z0``), so it
        is left out of every sum instead of being held as a pair-sized tensor.

        Args:
            s0: ``[B, L, C_s]`` initial sequence state (cast to :attr:`state_dtype`).
            residue_index, mask, aatype: ``[B, L]`` (mask bool).
            progress: called with ``"trunk pass k of n"`` and ``"structure module k of n"`` as each starts.

        Returns:
            Final sequence state, pair state ``[B, L, L, C_z]`` and the last structure-module output.
        """
        s0 = s0.to(self.state_dtype)
        batch, length = mask.shape
        s, z = torch.zeros_like(s0), s0.new_zeros(batch, length, length, self.recycle_z_norm.normalized_shape[0])
        bins = torch.zeros(batch, length, length, dtype=torch.long, device=s0.device)
        report = progress if progress is not None else (lambda stage: None)
        passes = num_recycles + 1
        for k in range(1, passes + 1):
            report(f"trunk pass {k} of {passes}")
            s, z = self._recycled(s0, s, z, bins)
            z = residual_add(z, self.pairwise_positional_embedding(residue_index, mask))
            # The block stack; each block sums its updates into z (the trunk's own tensor).
            for block in self.blocks:
                s, z = block(s, z, mask, chunk_size)
            report(f"structure module {k} of {passes}")
            structure = self._structure(s, z, aatype, mask, chunk_size)
            bins = recycle_distogram(structure["positions"][-1][:, :, :3])
        return s, z, structure

    def _recycled(self, s0, s, z, bins) -> tuple[torch.Tensor, torch.Tensor]:
        """A pass's input: ``s0 + LN(s)`` and ``LN(z) + E[bins]`` (``z0`` is zero) from the previous pass's output.

        The pair sum is taken into the normalised tensor and the previous output is not referenced
        afterwards, so no extra pair-sized copy is kept.
        """
        z = residual_add(self.recycle_z_norm(z), self.recycle_disto(bins))
        return s0 + self.recycle_s_norm(s), z
