"""ipTM, chain-pair ipTM, interface PAE minimum and actifpTM against loop implementations of the
published formulas (AlphaFold 2 eq. 40 / AlphaFold-Multimer ipTM / AlphaFold 3 chain-pair scores /
actifpTM, Varga et al. 2025), on synthetic logits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from remyfold.model import interface_confidence as ic
from remyfold.model.heads import predicted_aligned_error, predicted_tm_score

CENTERS = np.append(np.linspace(0, 31, 63) + 31 / 62 / 2, 31 + 31 / 62 * 1.5)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def slow_tm(logits: np.ndarray, frames: list[int], pair_weight) -> float:
    """max over frames i of Σ_j w(i,j) E[1/(1+(e_ij/d0)²)] / Σ_j w(i,j), d0 from len(frames)."""
    n = max(len(frames), 19)
    d0 = 1.24 * (n - 15) ** (1 / 3) - 1.8
    best = 0.0
    for i in frames:
        num = den = 0.0
        for j in frames:
            w = pair_weight(i, j)
            p = softmax(logits[i, j].astype(np.float64))
            num += w * sum(p[k] / (1 + (CENTERS[k] / d0) ** 2) for k in range(64))
            den += w
        best = max(best, num / (den + 1e-8))
    return best


def slow_scores(logits, dist_logits, chains: list[int]) -> dict:
    """Loop versions of every score for one record; ``chains[i] = -1`` for a linker residue."""
    counted = [i for i, c in enumerate(chains) if c >= 0]
    labels = sorted({chains[i] for i in counted})
    lower = np.append(0.0, np.linspace(2.3125, 21.6875, 63))
    contact = lambda i, j: float(softmax(dist_logits[i, j].astype(np.float64))[lower < 8].sum())  # noqa: E731
    pae = (softmax(logits.astype(np.float64)) * CENTERS).sum(-1)
    out = {
        "iptm": slow_tm(logits, counted, lambda i, j: float(chains[i] != chains[j])),
        "actifptm": slow_tm(logits, counted, lambda i, j: float(chains[i] != chains[j]) * contact(i, j)),
        "pair": np.zeros((len(labels), len(labels))), "pae_min": np.zeros((len(labels), len(labels))),
    }  # fmt: skip
    for a in labels:
        for b in labels:
            members = [i for i in counted if chains[i] in (a, b)]
            cross = (lambda i, j: float(chains[i] != chains[j])) if a != b else (lambda i, j: 1.0)
            out["pair"][a, b] = slow_tm(logits, members, cross)
            out["pae_min"][a, b] = min(pae[i, j] for i in counted for j in counted if chains[i] == a and chains[j] == b)
    return out


def random_record(gen: torch.Generator, chains: list[int], symmetric: bool) -> tuple[torch.Tensor, torch.Tensor]:
    n = len(chains)
    logits = 3 * torch.randn(n, n, 64, generator=gen)
    if symmetric:
        logits = (logits + logits.transpose(0, 1)) / 2
    dist = 3 * torch.randn(n, n, 64, generator=gen)
    return logits, (dist + dist.transpose(0, 1)) / 2


def check(record_logits, record_dist, chains, result, b):
    expected = slow_scores(record_logits.numpy(), record_dist.numpy(), chains)
    assert result.iptm[b].item() == pytest.approx(expected["iptm"], abs=1e-5)
    assert result.actifptm[b].item() == pytest.approx(expected["actifptm"], abs=1e-5)
    c = len(expected["pair"])
    np.testing.assert_allclose(result.chain_pair_iptm[b, :c, :c].numpy(), expected["pair"], atol=1e-5)
    np.testing.assert_allclose(result.chain_pair_pae_min[b, :c, :c].numpy(), expected["pae_min"], atol=1e-4)


def run(logits, dist, chain):
    return ic.interface_confidence(logits, predicted_aligned_error(logits), dist, chain)


@pytest.mark.parametrize("symmetric", [True, False])
def test_two_chains_match_the_loop_formulas(symmetric):
    gen = torch.Generator().manual_seed(1 + symmetric)
    chains = [0] * 9 + [-1] * 4 + [1] * 7
    logits, dist = random_record(gen, chains, symmetric)
    result = run(logits[None], dist[None], torch.tensor([chains]))
    check(logits, dist, chains, result, 0)
    assert not torch.allclose(result.chain_pair_pae_min[0], result.chain_pair_pae_min[0].T) or symmetric


def test_three_chains_match_the_loop_formulas():
    gen = torch.Generator().manual_seed(3)
    chains = [0] * 6 + [-1] * 3 + [1] * 8 + [-1] * 3 + [2] * 5
    logits, dist = random_record(gen, chains, symmetric=False)
    result = run(logits[None], dist[None], torch.tensor([chains]))
    check(logits, dist, chains, result, 0)
    assert result.chain_pair_iptm.shape == (1, 3, 3)


def test_padded_batch_scores_each_record_as_if_alone():
    gen = torch.Generator().manual_seed(4)
    records = [[0] * 5 + [-1] * 2 + [1] * 4 + [-1] * 2 + [2] * 6, [0] * 8 + [-1] * 2 + [1] * 3, [0] * 12]
    length = max(len(r) for r in records)
    logits = 3 * torch.randn(len(records), length, length, 64, generator=gen)
    dist = 3 * torch.randn(len(records), length, length, 64, generator=gen)
    dist = (dist + dist.transpose(1, 2)) / 2
    chain = torch.full((len(records), length), -1)
    for b, r in enumerate(records):
        chain[b, : len(r)] = torch.tensor(r)
    result = run(logits, dist, chain)
    for b, r in enumerate(records[:2]):
        n = len(r)
        check(logits[b, :n, :n], dist[b, :n, :n], r, result, b)
        alone = run(logits[b : b + 1, :n, :n], dist[b : b + 1, :n, :n], chain[b : b + 1, :n])
        assert alone.iptm[0].item() == pytest.approx(result.iptm[b].item(), abs=1e-6)
    # record 1 has two chains: its third chain row/column is NaN, not 0
    assert torch.isnan(result.chain_pair_iptm[1, 2]).all() and torch.isnan(result.chain_pair_pae_min[1, :, 2]).all()
    # record 2 is a single chain: no interface scores at all
    assert math.isnan(result.iptm[2].item()) and math.isnan(result.actifptm[2].item())
    assert torch.isnan(result.chain_pair_iptm[2]).all() and torch.isnan(result.chain_pair_pae_min[2]).all()


def test_single_chain_has_no_interface_scores():
    gen = torch.Generator().manual_seed(5)
    logits, dist = random_record(gen, [0] * 10, symmetric=True)
    result = run(logits[None], dist[None], torch.zeros(1, 10, dtype=torch.long))
    assert math.isnan(result.iptm.item()) and math.isnan(result.actifptm.item())
    assert torch.isnan(result.chain_pair_iptm).all() and torch.isnan(result.chain_pair_pae_min).all()


def peaked(errors: torch.Tensor) -> torch.Tensor:
    """``[L, L]`` errors (Å) → logits sharply peaked on the bin of each error."""
    centers = torch.from_numpy(CENTERS).float()
    return -((errors[..., None] - centers) ** 2) / 0.5


def test_two_well_folded_chains_placed_at_random_give_high_ptm_low_iptm():
    # two 60-residue chains, each confidently folded (0.5 Å within a chain), placed relative to
    # each other at random: the errors across the interface are large and spread (15-31 Å)
    gen = torch.Generator().manual_seed(6)
    n = 60
    chains = [0] * n + [1] * n
    errors = 15 + 16 * torch.rand(2 * n, 2 * n, generator=gen)
    same = torch.tensor(chains)[:, None] == torch.tensor(chains)[None, :]
    errors[same] = 0.5
    logits = peaked(errors)
    dist = torch.zeros(2 * n, 2 * n, 64)
    result = run(logits[None], dist[None], torch.tensor([chains]))
    ptm = predicted_tm_score(logits, torch.ones(2 * n)).item()
    iptm = result.iptm.item()
    assert ptm > 0.5 and iptm < 0.1
    assert ic.ranking_confidence(result.iptm, torch.tensor([ptm])).item() == pytest.approx(0.8 * iptm + 0.2 * ptm)
    # each chain alone is confident: the diagonal of chain_pair_iptm is a high pTM
    assert result.chain_pair_iptm[0].diagonal().min().item() > 0.9
    assert result.chain_pair_iptm[0, 0, 1].item() < 0.1
    assert result.chain_pair_pae_min[0, 0, 1].item() > 14


def test_actifptm_ignores_confident_looking_pairs_that_are_far_apart():
    # the interface is confident (1 Å) where the chains touch and poor elsewhere (a disordered
    # tail): ipTM is dragged down, actifpTM stays high because far pairs have no contact weight
    n = 30
    chains = [0] * n + [1] * n
    c = torch.tensor(chains)
    errors = torch.full((2 * n, 2 * n), 30.0)
    errors[c[:, None] == c[None, :]] = 0.5
    touching = torch.zeros(2 * n, 2 * n, dtype=torch.bool)
    touching[:10, n : n + 10] = touching[n : n + 10, :10] = True
    errors[touching] = 1.0
    # distogram logits: all mass below 8 Å (bins 0-9) where the chains touch, above 8 Å (bins 40-63) elsewhere
    close, far = torch.tensor([5.0] * 10 + [-5.0] * 54), torch.tensor([-5.0] * 40 + [5.0] * 24)
    dist = torch.where(touching[..., None], close, far)
    result = run(peaked(errors)[None], dist[None], c[None])
    assert result.actifptm.item() > 0.8 > 0.4 > result.iptm.item()


def test_contact_probability_counts_bins_below_8_angstrom():
    logits = torch.full((64,), -1e4)
    logits[19] = 0.0  # the bin [7.9375, 8.25) Å starts below 8 Å
    assert ic.contact_probabilities(logits).item() == pytest.approx(1.0)
    logits[19], logits[20] = -1e4, 0.0  # [8.25, 8.5625) Å
    assert ic.contact_probabilities(logits).item() == pytest.approx(0.0)
