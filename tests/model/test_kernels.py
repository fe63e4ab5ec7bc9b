"""Optional kernels on the CPU: choice and fallback, the import guard, the argument mapping of the
cuEquivariance drop-in (against a stand-in written from its documented contract) and torch.compile.

The real cuEquivariance kernels run only on CUDA: their equivalence test is in tests/api/test_gpu.py.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tiny_models import randomize_module

from remyfold.api import Folder
from remyfold.errors import InputError
from remyfold.model import kernels_cuequivariance as cueq
from remyfold.model.config import ConfigError
from remyfold.model.kernels import KernelOptions, apply_kernels, compile_trunk
from remyfold.model.kernels_blocked import CACHE_BLOCK_BYTES
from remyfold.model.trunk_block import TrunkBlock
from remyfold.model.triangular_attention import TriangleAttention
from remyfold.model.triangular_multiplication import TriangleMultiplicativeUpdate

SEQS = {"a": "MKTAYIAKQRQISFVKSHFSRQ", "b": "GSHMLEDPV:ASQKRPSQ"}




def _pair_inputs(seed: int, n: int = 11, c_z: int = 32):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(2, n, n, c_z, generator=gen)
    seq_mask = torch.ones(2, n, dtype=torch.bool)
    seq_mask[1, n - 3 :] = False  # a padded second record
    return z, seq_mask[:, :, None] & seq_mask[:, None, :]


def _fake_attention(q, k, v, bias, mask=None, scale=None, return_aux=False):
    """cuequivariance_torch.triangle_attention as documented: q,k,v [B,N,H,Q,D], bias [B,1,H,Q,K], mask [B,N,1,1,K]."""
    assert q.shape[:2] == mask.shape[:2] and bias.shape[1] == 1 and mask.shape[2:4] == (1, 1) and mask.dtype == torch.bool
    logits = scale * torch.einsum("bnhqd,bnhkd->bnhqk", q, k) + bias.float() - 1e9 * (~mask).float()
    return torch.einsum("bnhqk,bnhkd->bnhqd", torch.softmax(logits, dim=-1), v).to(q.dtype)


def _fake_trimul(x, direction, mask, norm_in_weight, norm_in_bias, p_in_weight, p_in_bias, g_in_weight, g_in_bias,
                 norm_out_weight, norm_out_bias, p_out_weight, p_out_bias, g_out_weight, g_out_bias, eps):  # fmt: skip
    """cuequivariance_torch.triangle_multiplicative_update as documented (packed input rows [a; b])."""
    x_in = F.layer_norm(x, x.shape[-1:], norm_in_weight, norm_in_bias, eps)
    ab = F.linear(x_in, p_in_weight, p_in_bias) * torch.sigmoid(F.linear(x_in, g_in_weight, g_in_bias)) * mask[..., None]
    a, b = ab.chunk(2, dim=-1)
    # outgoing x_ij = Σ_k a_ik b_jk; incoming x_ij = Σ_k a_ki b_kj
    update = torch.einsum("bikc,bjkc->bijc" if direction == "outgoing" else "bkic,bkjc->bijc", a, b)
    update = F.layer_norm(update, update.shape[-1:], norm_out_weight, norm_out_bias, eps)
    return F.linear(update, p_out_weight, p_out_bias) * torch.sigmoid(F.linear(x_in, g_out_weight, g_out_bias))


@pytest.fixture
def fake_cuequivariance(monkeypatch):
    """Stand-ins for the two packages, so the drop-in's argument mapping is checked without CUDA."""
    ops = types.ModuleType(cueq.OPS_PACKAGE)
    api = types.ModuleType(cueq.PACKAGE)
    api.triangle_attention = _fake_attention
    api.triangle_multiplicative_update = _fake_trimul
    monkeypatch.setitem(sys.modules, cueq.OPS_PACKAGE, ops)
    monkeypatch.setitem(sys.modules, cueq.PACKAGE, api)


@pytest.fixture
def no_cuequivariance(monkeypatch):
    """The CUDA ops cannot be imported (as on a machine without the package or its libraries)."""
    monkeypatch.setitem(sys.modules, cueq.OPS_PACKAGE, None)


@pytest.mark.parametrize("starting", [True, False])
@pytest.mark.parametrize("chunk_size", [None, 4])
def test_attention_drop_in_maps_arguments(fake_cuequivariance, starting, chunk_size):
    layer = randomize_module(TriangleAttention(32, 16, 2, starting=starting), seed=1)
    z, mask = _pair_inputs(2)
    with torch.no_grad():
        plain = layer(z, mask, chunk_size)
        layer.kernel = cueq.CuEquivarianceTriangleKernels(fallback=False)
        fused = layer(z, mask, chunk_size)
    assert layer.kernel.status == "cuequivariance"
    torch.testing.assert_close(fused, plain, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("outgoing", [True, False])
def test_multiplication_drop_in_maps_arguments(fake_cuequivariance, outgoing):
    layer = randomize_module(TriangleMultiplicativeUpdate(32, outgoing=outgoing), seed=3)
    z, mask = _pair_inputs(4)
    with torch.no_grad():
        plain = layer(z, mask)
        layer.kernel = cueq.CuEquivarianceTriangleKernels(fallback=False)
        fused = layer(z, mask)
    torch.testing.assert_close(fused, plain, atol=1e-5, rtol=1e-5)


def test_explicit_choice_raises_one_line_when_unavailable(no_cuequivariance):
    layer = randomize_module(TriangleMultiplicativeUpdate(32, outgoing=True), seed=5)
    layer.kernel = cueq.CuEquivarianceTriangleKernels(fallback=False)
    z, mask = _pair_inputs(6)
    with pytest.raises(cueq.KernelUnavailableError) as err:
        layer(z, mask)
    assert "\n" not in str(err.value) and cueq.EXTRA in str(err.value)
    with pytest.raises(cueq.KernelUnavailableError):  # and on every later call
        layer(z, mask)


def test_auto_falls_back_to_plain_when_unavailable(no_cuequivariance):
    layer = randomize_module(TriangleAttention(32, 16, 2, starting=True), seed=7)
    z, mask = _pair_inputs(8)
    with torch.no_grad():
        plain = layer(z, mask)
        layer.kernel = cueq.CuEquivarianceTriangleKernels(fallback=True)
        with pytest.warns(RuntimeWarning):
            fell_back = layer(z, mask)
    assert layer.kernel.status.startswith("plain (fallback")
    assert torch.equal(fell_back, plain)


def test_choice_on_cpu(tiny_weights_dir):
    with pytest.raises(ConfigError):
        KernelOptions(triangle="triton")
    with pytest.raises(InputError, match="CUDA"):
        Folder.from_pretrained(str(tiny_weights_dir), device="cpu", kernels=KernelOptions(triangle="cuequivariance"))
    plain = Folder.from_pretrained(str(tiny_weights_dir), device="cpu", kernels=KernelOptions(triangle="plain"))
    assert plain.kernels.triangle == "plain" and plain.kernels.status == "triangle plain; trunk eager"
    assert all(getattr(m, "kernel", None) is None for m in plain.model.modules())
    assert all(b.mlp_pair.block_bytes is None for b in plain.model.trunk.blocks)  # chunks of rows
    default = Folder.from_pretrained(str(tiny_weights_dir), device="cpu")  # triangle="auto": blocked on the CPU
    assert default.precision == "fp32"  # precision="auto" on the CPU
    assert default.kernels.triangle == "blocked" and default.kernels.status == "triangle blocked; trunk eager"
    # the trunk's other pair updates run in cache-sized blocks with the blocked layers
    assert {m.block_bytes for b in default.model.trunk.blocks
            for m in (b.pair_to_sequence, b.sequence_to_pair, b.mlp_seq, b.mlp_pair)} == {CACHE_BLOCK_BYTES}  # fmt: skip
    for a, b in zip(plain.fold(SEQS, num_recycles=1), default.fold(SEQS, num_recycles=1)):
        np.testing.assert_allclose(a.positions, b.positions, atol=1e-4)


def test_apply_attaches_one_kernel_to_every_triangle_layer(tiny_reference, fake_cuequivariance, monkeypatch):
    from remyfold.model import ESMFold, FoldingConfig

    monkeypatch.setattr(cueq, "is_installed", lambda: True)
    model = ESMFold(FoldingConfig.from_hf_dict(tiny_reference.config.to_dict()))
    choice = apply_kernels(model, KernelOptions(triangle="auto"), torch.device("cuda"))
    layers = [m for m in model.modules() if isinstance(m, (TriangleAttention, TriangleMultiplicativeUpdate))]
    assert choice.triangle == "cuequivariance" and len(layers) == 4 * len(model.trunk.blocks)
    assert all(m.kernel is choice.kernel for m in layers) and choice.kernel.fallback
    assert all(b.mlp_pair.block_bytes is None for b in model.trunk.blocks)  # cache blocks are the CPU's


def test_compiled_block_matches_eager():
    """Dynamo capture of a trunk block computes the same function (aot_eager: no C++ build on CI;
    inductor itself is compared on CUDA in tests/api/test_gpu.py)."""
    block = randomize_module(TrunkBlock(64, 32, 16, 16, "sdpa"), seed=9)
    gen = torch.Generator().manual_seed(10)
    s, z = torch.randn(2, 12, 64, generator=gen), torch.randn(2, 12, 12, 32, generator=gen)
    mask = torch.ones(2, 12, dtype=torch.bool)
    mask[1, 9:] = False
    with torch.inference_mode():
        eager = block(s, z.clone(), mask)  # the block sums its updates into the z it is given
        holder = types.SimpleNamespace(trunk=types.SimpleNamespace(blocks=[block]))
        compile_trunk(holder, backend="aot_eager")
        compiled = block(s, z.clone(), mask)
    torch.testing.assert_close(compiled, eager, atol=1e-5, rtol=1e-5)
