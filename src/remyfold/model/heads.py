"""Output heads and confidence metrics of ESMFold.

* distogram: symmetric ``[B, L, L, 64]`` logits from the pair state.
* pLDDT (AlphaFold 2 supplement 1.9.6): 50-bin per-atom lDDT distribution from the
  structure module's last state; its expectation, on the 0–100 scale.
* PAE and pTM (supplement 1.9.7): 64-bin aligned-error distribution from the
  pair state; expected error per residue pair, and the predicted TM-score.
"""

from __future__ import annotations

import torch
from torch import nn

PAE_BINS, PAE_MAX_BIN = 64, 31.0
LDDT_BINS = 50


def lddt_head(c_s: int, hidden: int, num_atoms: int = 37, bins: int = LDDT_BINS) -> nn.Sequential:
    """Per-atom pLDDT logits head: ``LN → Linear → Linear → Linear`` (no activations, as in ESMFold)."""
    return nn.Sequential(nn.LayerNorm(c_s), nn.Linear(c_s, hidden), nn.Linear(hidden, hidden),
                         nn.Linear(hidden, num_atoms * bins))  # fmt: skip


def plddt_from_logits(logits: torch.Tensor, bins: int = LDDT_BINS) -> torch.Tensor:
    """``[B, L, 37*bins]`` logits → expected lDDT ``[B, L, 37]`` on the 0–100 scale."""
    # [B, L, 37*bins] -> [B, L, 37, bins]
    logits = logits.view(*logits.shape[:-1], -1, bins)
    edges = torch.linspace(0, 1, bins + 1, device=logits.device, dtype=logits.dtype)
    centers = (edges[:-1] + edges[1:]) / 2
    return 100 * (torch.softmax(logits, dim=-1) @ centers)


def pae_bin_centers(device: torch.device) -> torch.Tensor:
    """Centres of the 64 aligned-error bins (Å): 0.25, 0.75, ..., the last bin at 31.75."""
    edges = torch.linspace(0, PAE_MAX_BIN, PAE_BINS - 1, device=device)
    step = edges[1] - edges[0]
    centers = edges + step / 2
    return torch.cat([centers, (centers[-1] + step).unsqueeze(-1)])


def predicted_aligned_error(logits: torch.Tensor) -> torch.Tensor:
    """logits ``[*, L, L, 64]`` → expected aligned error ``[*, L, L]`` (Å)."""
    return torch.softmax(logits, dim=-1) @ pae_bin_centers(logits.device).to(logits.dtype)


def predicted_tm_score(logits: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Predicted TM-score of one structure (AlphaFold 2 supplement eq. 40).

    Args:
        logits: ``[L, L, 64]`` aligned-error logits.
        weights: ``[L]`` residue weights (1 for residues that count, 0 otherwise);
            ``d0`` uses their sum, clipped below at 19 as in AlphaFold.

    Returns:
        Scalar: max over alignment frames i of Σ_j w_j E[f(e_ij)] / Σ_j w_j.
    """
    n = max(float(weights.sum()), 19.0)
    d0 = 1.24 * (n - 15) ** (1.0 / 3) - 1.8
    centers = pae_bin_centers(logits.device).to(logits.dtype)
    # [L, L]: expected TM term per (frame i, residue j)
    tm_term = torch.softmax(logits, dim=-1) @ (1.0 / (1 + centers**2 / d0**2))
    per_frame = (tm_term * weights).sum(-1) / (1e-8 + weights.sum())
    return (per_frame * weights).max()
