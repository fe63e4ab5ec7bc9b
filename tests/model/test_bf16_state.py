"""Real bf16 (issue 23): bf16 sequence/pair state and trunk weights, fp32 structure module and heads.

Drift from fp32 on the tiny random model (1 recycle; its coordinates span ~340 Å, so errors scale
with them): Cα RMSD after superposition 0.136–0.176 Å (autocast bf16 before: 0.100–0.135 Å),
per-residue |ΔpLDDT| ≤ 0.032. Bound tested: Cα RMSD ≤ 1e-3 × the coordinate scale, |ΔpLDDT| ≤ 0.1.
Random weights overstate drift (no trained weights here); the H100 run measures it on esmfold_v1.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from remyfold.api import Folder
from remyfold.metrics.superpose import superposed_rmsd
from remyfold.model.ipa import point_term
from remyfold.model.trunk_block import SequenceToPair

SEQS = {"mbp_frag": "ASQKRPSQRHGSKYLATASTMDHARHGFLPRHRDTGILDSIGRFFGGDRGAPK", "pep": "GSWEK", "cplx": "GSHMLEDPV:ASQKRPSQRHG"}
RMSD_PER_SCALE, PLDDT_DRIFT = 1e-3, 0.1


@pytest.fixture(scope="module")
def bf16_folder(tiny_weights_dir):
    return Folder.from_pretrained(str(tiny_weights_dir), device="cpu", precision="bf16")


def test_bf16_holds_state_and_trunk_weights_in_bf16(bf16_folder):
    model, seen = bf16_folder.model, []
    hook = model.trunk.blocks[0].register_forward_hook(lambda m, args, out: seen.append((args[0].dtype, args[1].dtype)))
    try:
        bf16_folder.fold({"x": SEQS["pep"]}, num_recycles=0)
    finally:
        hook.remove()
    assert seen == [(torch.bfloat16, torch.bfloat16)]
    assert {p.dtype for p in model.trunk.blocks.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in model.esm.parameters()} == {torch.bfloat16}
    fp32_parts = (model.trunk.structure_module, model.trunk.trunk2sm_s, model.trunk.trunk2sm_z, model.ptm_head,
                  model.lddt_head, model.distogram_head, model.esm_s_mlp)  # fmt: skip
    assert all(p.dtype == torch.float32 for part in fp32_parts for p in part.parameters())


def test_bf16_drift_from_fp32_is_within_its_stated_bound(tiny_weights_dir, bf16_folder):
    exact = Folder.from_pretrained(str(tiny_weights_dir), device="cpu").fold(SEQS, num_recycles=1, max_tokens_per_batch=10_000)
    fast = bf16_folder.fold(SEQS, num_recycles=1, max_tokens_per_batch=10_000)
    for a, b in zip(exact, fast):
        assert b.precision == "bf16" and np.isfinite(b.positions).all()
        scale = np.abs(a.positions[:, 1]).max()
        assert superposed_rmsd(b.positions[:, 1], a.positions[:, 1]) < RMSD_PER_SCALE * scale
        assert np.abs(a.plddt - b.plddt).max() < PLDDT_DRIFT


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-9), (torch.float32, 2e-3)])
def test_point_term_matmul_form_equals_the_difference_form(dtype, tol):
    """IPA's point term without the [B, L, L, H, P, 3] tensor: the same logits (fp32: relative to |logits|)."""
    gen = torch.Generator().manual_seed(4)
    q = (torch.randn(2, 37, 4, 4, 3, generator=gen) * 30 + 150).to(dtype)  # far from the origin
    k = (torch.randn(2, 37, 4, 4, 3, generator=gen) * 30 + 150).to(dtype)
    w = F.softplus(torch.randn(4, generator=gen)).to(dtype) * math.sqrt(1.0 / 54)
    # [B, L, L, H, P] squared distances, summed over points: the reference form
    d2 = ((q.unsqueeze(-4) - k.unsqueeze(-5)) ** 2).sum(dim=-1)
    expected = ((d2 * w[:, None]).sum(dim=-1) * -0.5).permute(0, 3, 1, 2)
    got = point_term(q, k, w)
    assert (got - expected).abs().max() <= tol * expected.abs().max() + tol


def test_sequence_to_pair_summed_in_place_equals_the_sum():
    layer = SequenceToPair(16, 8, 12).eval()
    gen = torch.Generator().manual_seed(2)
    s, z = torch.randn(2, 9, 16, generator=gen), torch.randn(2, 9, 9, 12, generator=gen)
    with torch.inference_mode():
        expected = z + layer(s)
        for chunk in (None, 4):
            own = z.clone()
            assert layer.residual_(s, own, chunk) is own
            torch.testing.assert_close(own, expected)
