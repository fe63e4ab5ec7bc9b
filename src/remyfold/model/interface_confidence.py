"""Confidence of complexes: ipTM, chain-pair ipTM, interface PAE minimum and actifpTM.

Every function takes a padded batch and a per-residue chain label ``chain`` ``[B, L]`` (int64):
the chain index ``0, 1, ...`` of each residue that counts, and ``-1`` for residues that never
count (the glycine linkers joining chains, and batch padding).  Records with fewer than two
chains have no interface: their scores are NaN (never 0), which callers turn into "absent".

Definitions (``m_i = 1`` where ``chain_i >= 0``; ``e_ij`` the aligned error of residue ``j``
in the frame of residue ``i``; ``f(e) = 1 / (1 + (e / d0)²)`` the TM-score term;
``d0(N) = 1.24·(max(N, 19) − 15)^(1/3) − 1.8``, ``N`` the number of residues that count):

* **pair-weighted predicted TM-score** (AlphaFold 2 supplement 1.9.7 eq. 40; AlphaFold-Multimer
  (Evans et al. 2021, section 7.9) for the interface form): for pair weights ``w_ij``,
  ``max_i m_i · Σ_j w_ij E[f(e_ij)] / Σ_j w_ij``.
* **ipTM** (AlphaFold-Multimer): ``w_ij = m_i m_j [chain_i ≠ chain_j]``, ``N`` all residues
  that count.  **ranking confidence** (AlphaFold-Multimer): ``0.8·ipTM + 0.2·pTM``.
* **chain_pair_iptm** (AlphaFold 3 supplement 5.9.1, ColabFold ``pairwise_iptm``): ``[C, C]``;
  element ``(a, b)``, ``a ≠ b``, is ipTM restricted to the residues of chains ``a`` and ``b``
  (``N`` their count); the diagonal ``(a, a)`` is the pTM of chain ``a`` alone, as in AlphaFold 3.
  ColabFold's ``pairwise_iptm`` takes ``d0`` from the length of the whole complex instead, so
  its values are higher where the two chains are a small part of a large complex.
* **chain_pair_pae_min** (AlphaFold 3 ``summary_confidences``): ``[C, C]``; element ``(a, b)`` is
  the lowest expected PAE over rows (aligned residues) of chain ``a`` and columns of chain ``b``.
* **actifpTM** (Varga, Ovchinnikov & Schueler-Furman, "actifpTM: a refined confidence metric
  of AlphaFold2 predictions involving flexible regions", arXiv:2412.15970, Bioinformatics 2025;
  ColabFold PR 671, ``colabfold/alphafold/extended_ptm.py``, the contact-probability form that
  ``colabfold_batch --calc-extra-ptm`` uses by default): ipTM whose pair weights are the predicted
  contact probabilities, ``w_ij = m_i m_j [chain_i ≠ chain_j] · P(d_ij < 8 Å)``, so that pairs
  far apart (disordered tails, linkers of flexible domains) hardly count.  ``P(d < 8 Å)`` is
  the distogram probability summed over the bins whose lower edge lies below 8 Å (ColabFold's
  ``get_contact_map``); ESMFold's distogram head uses AlphaFold 2's 64 Cβ-distance bins
  (edges ``linspace(2.3125, 21.6875, 63)``, supplement 1.9.8).  Unlike ColabFold, ``d0`` uses
  the residues that count (linkers excluded), as for ipTM here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from remyfold.model.heads import PAE_BINS, pae_bin_centers

DISTOGRAM_FIRST_EDGE, DISTOGRAM_LAST_EDGE = 2.3125, 21.6875
CONTACT_CUTOFF = 8.0
RANKING_IPTM_WEIGHT = 0.8


@dataclass(frozen=True)
class InterfaceConfidence:
    """Complex confidence of a batch; NaN where a record has no interface (fewer than 2 chains).

    Attributes: iptm, actifptm: ``[B]``.  chain_pair_iptm, chain_pair_pae_min: ``[B, C, C]``,
        ``C`` the most chains of any record; NaN rows/columns for chains a record lacks.
    """

    iptm: torch.Tensor
    actifptm: torch.Tensor
    chain_pair_iptm: torch.Tensor
    chain_pair_pae_min: torch.Tensor


def tm_d0(num_residues: torch.Tensor) -> torch.Tensor:
    """TM-score distance scale ``d0`` (Yang & Skolnick 2004 eq. 5), ``N`` clipped below at 19."""
    n = num_residues.clamp(min=19.0)
    return 1.24 * (n - 15) ** (1.0 / 3) - 1.8


def weighted_tm_score(probs: torch.Tensor, residue_mask: torch.Tensor, pair_weights: torch.Tensor) -> torch.Tensor:
    """Pair-weighted predicted TM-score (module docstring), per record.

    Args:
        probs: ``[B, L, L, 64]`` aligned-error bin probabilities (softmax of the PAE logits).
        residue_mask: ``[B, L]`` float, 1 for the residues taken as frames and counted in ``d0``.
        pair_weights: ``[B, L, L]`` float, ``w_ij`` (0 outside the residues that count).

    Returns: ``[B]``: ``max_i m_i Σ_j w_ij E[f(e_ij)] / Σ_j w_ij``.
    """
    d0 = tm_d0(residue_mask.sum(-1))
    centers = pae_bin_centers(probs.device).to(probs.dtype)
    # [B, 64]: TM term of each bin centre under each record's d0
    tm_per_bin = 1.0 / (1 + centers[None] ** 2 / d0[:, None] ** 2)
    # [B, L, L, 64] x [B, 64] -> [B, L, L]: expected TM term per (frame i, residue j)
    tm_term = torch.einsum("bijk,bk->bij", probs, tm_per_bin)
    per_frame = (tm_term * pair_weights).sum(-1) / (1e-8 + pair_weights.sum(-1))
    return (per_frame * residue_mask).amax(-1)


def interface_pair_weights(chain: torch.Tensor) -> torch.Tensor:
    """``[B, L]`` chain labels → ``[B, L, L]`` float, 1 for pairs of counted residues on different chains."""
    counted = chain >= 0
    cross = chain[:, :, None] != chain[:, None, :]
    return (cross & counted[:, :, None] & counted[:, None, :]).to(torch.float32)


def chain_count(chain: torch.Tensor) -> torch.Tensor:
    """``[B, L]`` chain labels → ``[B]`` number of distinct chains of each record."""
    labels = int(chain.max()) + 1 if chain.numel() else 0
    if labels <= 0:
        return torch.zeros(chain.shape[0], dtype=torch.long, device=chain.device)
    # [B, L, C] one-hot of the label, -1 rows all False
    present = (chain[:, :, None] == torch.arange(labels, device=chain.device)).any(1)
    return present.sum(-1)


def contact_probabilities(distogram_logits: torch.Tensor, cutoff: float = CONTACT_CUTOFF) -> torch.Tensor:
    """``[*, L, L, 64]`` distogram logits → ``[*, L, L]`` probability that the Cβ distance is below
    ``cutoff`` (sum over the bins whose lower edge is below it; the first bin starts at 0 Å)."""
    inner = torch.linspace(DISTOGRAM_FIRST_EDGE, DISTOGRAM_LAST_EDGE, PAE_BINS - 1, device=distogram_logits.device)
    lower_edges = torch.cat([inner.new_zeros(1), inner])
    close = (lower_edges < cutoff).to(distogram_logits.dtype)
    return torch.softmax(distogram_logits, dim=-1) @ close


def iptm(pae_logits: torch.Tensor, chain: torch.Tensor) -> torch.Tensor:
    """ipTM (AlphaFold-Multimer) of each record: ``[B, L, L, 64]`` logits, ``[B, L]`` chains → ``[B]``."""
    return _iptm(_bin_probs(pae_logits), chain)


def _iptm(probs: torch.Tensor, chain: torch.Tensor) -> torch.Tensor:
    return _no_interface_to_nan(weighted_tm_score(probs, (chain >= 0).float(), interface_pair_weights(chain)), chain)


def actifptm(pae_logits: torch.Tensor, chain: torch.Tensor, contact_probs: torch.Tensor) -> torch.Tensor:
    """actifpTM (module docstring) of each record: logits ``[B, L, L, 64]``, chains ``[B, L]``,
    contact probabilities ``[B, L, L]`` → ``[B]``."""
    return _actifptm(_bin_probs(pae_logits), chain, contact_probs)


def _actifptm(probs: torch.Tensor, chain: torch.Tensor, contact_probs: torch.Tensor) -> torch.Tensor:
    weights = interface_pair_weights(chain) * contact_probs.float()
    return _no_interface_to_nan(weighted_tm_score(probs, (chain >= 0).float(), weights), chain)


def chain_pair_iptm(pae_logits: torch.Tensor, chain: torch.Tensor) -> torch.Tensor:
    """ipTM per chain pair, pTM per chain on the diagonal: ``[B, L, L, 64]``, ``[B, L]`` → ``[B, C, C]``."""
    return _chain_pair_iptm(_bin_probs(pae_logits), chain)


def _chain_pair_iptm(probs: torch.Tensor, chain: torch.Tensor) -> torch.Tensor:
    num_chains = int(chain.max()) + 1
    out = probs.new_full((chain.shape[0], num_chains, num_chains), float("nan"))
    for a in range(num_chains):
        for b in range(a, num_chains):
            members = (chain == a) | (chain == b)
            weights = members[:, :, None] & members[:, None, :]
            if a != b:
                weights = weights & (chain[:, :, None] != chain[:, None, :])
            score = weighted_tm_score(probs, members.float(), weights.float())
            both_present = (chain == a).any(-1) & (chain == b).any(-1)
            out[:, a, b] = out[:, b, a] = torch.where(both_present, score, torch.nan)
    return out


def chain_pair_pae_min(pae: torch.Tensor, chain: torch.Tensor) -> torch.Tensor:
    """Lowest expected PAE, rows on chain ``a``, columns on chain ``b``: ``[B, L, L]``, ``[B, L]`` → ``[B, C, C]``.

    Not symmetric (PAE is not); NaN where a record lacks chain ``a`` or ``b``.
    """
    num_chains = int(chain.max()) + 1
    inf = torch.tensor(float("inf"), device=pae.device)
    # [B, L, C]: per aligned residue i, the minimum over the columns j of each chain
    by_column = torch.stack([torch.where(chain[:, None, :] == c, pae.float(), inf).amin(-1)
                             for c in range(num_chains)], dim=-1)  # fmt: skip
    # [B, C, C]: minimum of those over the rows i of each chain
    out = torch.stack([torch.where((chain == a)[:, :, None], by_column, inf).amin(1)
                       for a in range(num_chains)], dim=1)  # fmt: skip
    return torch.where(torch.isinf(out), torch.nan, out)


def ranking_confidence(iptm_score: torch.Tensor, ptm: torch.Tensor) -> torch.Tensor:
    """AlphaFold-Multimer's model ranking confidence ``0.8·ipTM + 0.2·pTM`` (NaN where ipTM is)."""
    return RANKING_IPTM_WEIGHT * iptm_score + (1 - RANKING_IPTM_WEIGHT) * ptm


def interface_confidence(pae_logits: torch.Tensor, pae: torch.Tensor, distogram_logits: torch.Tensor,
                         chain: torch.Tensor) -> InterfaceConfidence:  # fmt: skip
    """All complex scores of a batch (shapes as in the functions above); NaN for single chains."""
    probs = _bin_probs(pae_logits)
    return InterfaceConfidence(
        iptm=_iptm(probs, chain),
        actifptm=_actifptm(probs, chain, contact_probabilities(distogram_logits.float())),
        chain_pair_iptm=_single_chain_to_nan(_chain_pair_iptm(probs, chain), chain),
        chain_pair_pae_min=_single_chain_to_nan(chain_pair_pae_min(pae, chain), chain),
    )


def _bin_probs(pae_logits: torch.Tensor) -> torch.Tensor:
    """``[B, L, L, 64]`` aligned-error logits → bin probabilities (fp32)."""
    return torch.softmax(pae_logits.float(), dim=-1)


def _no_interface_to_nan(score: torch.Tensor, chain: torch.Tensor) -> torch.Tensor:
    """``[B]`` scores → NaN for records with fewer than two chains (no interface, not a score of 0)."""
    return torch.where(chain_count(chain) >= 2, score, torch.nan)


def _single_chain_to_nan(matrix: torch.Tensor, chain: torch.Tensor) -> torch.Tensor:
    """``[B, C, C]`` → all NaN for records with fewer than two chains."""
    return torch.where((chain_count(chain) >= 2)[:, None, None], matrix, torch.nan)
