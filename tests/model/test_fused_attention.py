"""Every SDPA call of the CUDA code path meets the fused-kernel conditions, checked on the CPU (issue 23).

PyTorch runs its memory-efficient CUDA kernel only for 4-D q/k/v with stride-1 last dims and an
additive mask of q's dtype with a contiguous last dim whose rows are 16-byte aligned (key length a
multiple of 8); anything else falls back to the math path (full biased logits, ``_safe_softmax``).
The code path is chosen as on CUDA (``auto_attention`` / ``resolve_triangle`` for a CUDA device,
without the cuEquivariance extra) and run on CPU tensors; a wrapper of
``torch.nn.functional.scaled_dot_product_attention`` asserts the conditions on every call.
The new layout must compute the plain path's function: within 1e-4 Å end to end (fp64; fp32 to its rounding).
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tiny_models import randomize_module

from remyfold.api import Folder, auto_attention
from remyfold.loading import load_model
from remyfold.model.kernels import KernelOptions, apply_kernels, resolve_triangle
from remyfold.model.primitives import KEY_MULTIPLE, attention_plain, attention_sdpa
from remyfold.model.trunk_block import TrunkBlock

CUDA = torch.device("cuda")  # only a device name: nothing runs on it
EQUIV_TOL = 1e-4  # Å, fp32
SEQS = {"mono": "ASQKRPSQRHGSKYLATASTMDHARHGFLPRHRDTGILDSIGR", "pep": "GSWEK", "odd": "MKVLXAAGW"}
COMPLEX = {"cplx": "GSHMLEDPV:ASQKRPSQRHG"}


def cuda_path_triangle() -> str:
    """The triangle kernels a default install (no cuEquivariance) runs on CUDA."""
    choice = resolve_triangle("auto", CUDA)
    return "plain" if choice == "cuequivariance" else choice


def assert_fused_conditions(q, k, v, attn_mask=None, **kwargs) -> None:
    """The conditions of the memory-efficient kernel, or AssertionError naming the one broken."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        assert t.dim() == 4, f"{name} is {t.dim()}-D {tuple(t.shape)}, not 4-D"
        assert t.stride(-1) == 1, f"{name} last dim has stride {t.stride(-1)}"
    assert k.shape[-2] % KEY_MULTIPLE == 0, f"key length {k.shape[-2]} is not a multiple of {KEY_MULTIPLE}"
    if attn_mask is not None:
        assert attn_mask.dim() == 4, f"mask is {attn_mask.dim()}-D"
        assert attn_mask.dtype == q.dtype, f"mask dtype {attn_mask.dtype} != q dtype {q.dtype}"
        assert attn_mask.stride(-1) == 1, f"mask last dim has stride {attn_mask.stride(-1)}"
        assert all(s % KEY_MULTIPLE == 0 for s in attn_mask.stride()[:-1]), f"mask strides {attn_mask.stride()}"


@contextlib.contextmanager
def checked_sdpa(monkeypatch):
    """Wrap SDPA so that every call asserts :func:`assert_fused_conditions`; yields the call list."""
    calls, real = [], F.scaled_dot_product_attention

    def wrapper(q, k, v, attn_mask=None, **kwargs):
        assert_fused_conditions(q, k, v, attn_mask, **kwargs)
        calls.append(tuple(q.shape))
        return real(q, k, v, attn_mask=attn_mask, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", wrapper)
    yield calls


def _block_inputs(batch: int = 2, n: int = 13, c_s: int = 64, c_z: int = 32):
    gen = torch.Generator().manual_seed(3)
    s, z = torch.randn(batch, n, c_s, generator=gen), torch.randn(batch, n, n, c_z, generator=gen)
    mask = torch.ones(batch, n, dtype=torch.bool)
    mask[-1, n - 4 :] = False  # a padded record
    return s, z, mask


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_trunk_block_on_the_cuda_path_meets_the_fused_conditions(monkeypatch, dtype):
    """A full trunk block (tiny config, padded batch, a key length of 13) as CUDA would run it."""
    block = randomize_module(TrunkBlock(64, 32, 16, 8, auto_attention(CUDA)), seed=1).to(dtype)
    model = torch.nn.Module()
    model.trunk = torch.nn.Module()
    model.trunk.blocks = torch.nn.ModuleList([block])
    apply_kernels(model, KernelOptions(triangle=cuda_path_triangle()), CUDA)
    s, z, mask = _block_inputs()
    with checked_sdpa(monkeypatch) as calls, torch.inference_mode():
        block(s.to(dtype), z.to(dtype), mask, chunk_size=5)
    # sequence attention + both triangle attentions over 3 row chunks
    assert len(calls) >= 3


def test_whole_fold_on_the_cuda_path_meets_the_fused_conditions(monkeypatch, tiny_weights_dir):
    """Language model, trunk and recycles: every SDPA call of a fold (complex, odd length)."""
    folder = Folder(load_model(tiny_weights_dir, attention=auto_attention(CUDA)), device=torch.device("cpu"),
                    kernels=KernelOptions(triangle=cuda_path_triangle()))  # fmt: skip
    with checked_sdpa(monkeypatch) as calls:
        folder.fold(COMPLEX, num_recycles=1)
    assert len(calls) > 0


def test_the_conditions_reject_the_old_layout():
    """The checker itself fails on what the math fallback got before (5-D q, permuted bias, fp32 mask)."""
    q = torch.randn(1, 3, 2, 5, 8)
    with pytest.raises(AssertionError, match="not 4-D"):
        assert_fused_conditions(q, q, q)
    q4 = torch.randn(1, 2, 5, 8).to(torch.bfloat16)
    k8 = torch.randn(1, 2, 8, 8).to(torch.bfloat16)
    with pytest.raises(AssertionError, match="dtype"):
        assert_fused_conditions(q4, k8, k8, torch.zeros(1, 2, 5, 8))
    permuted = torch.zeros(1, 5, 8, 2, dtype=torch.bfloat16).permute(0, 3, 1, 2)
    with pytest.raises(AssertionError, match="stride"):
        assert_fused_conditions(q4, k8, k8, permuted)
    with pytest.raises(AssertionError, match="multiple"):
        assert_fused_conditions(q4, q4, q4)


@pytest.mark.parametrize("lead", [(), (3,), (2, 4), (1, 4)])
def test_sdpa_layout_equals_plain_attention(lead):
    """Row-free and per-row biases, several leading shapes, odd key lengths."""
    gen = torch.Generator().manual_seed(7)
    q, k, v = (torch.randn(*lead, 2, 11, 16, generator=gen) for _ in range(3))
    row_bias = torch.randn(*lead[:-1], *(1,) * min(1, len(lead)), 2, 11, 11, generator=gen)
    key_bias = torch.zeros(*lead, 1, 1, 11).masked_fill(torch.rand(*lead, 1, 1, 11, generator=gen) < 0.3, -1e9)
    key_bias[..., 0] = 0.0  # every row keeps a key
    for biases in [(), (row_bias,), (row_bias, key_bias)]:
        torch.testing.assert_close(attention_sdpa(q, k, v, biases), attention_plain(q, k, v, biases), atol=1e-5, rtol=1e-5)


def _fold(weights_dir, attention: str, records: dict, dtype: torch.dtype = torch.float32, **kwargs):
    model = load_model(weights_dir, attention=attention).to(dtype)
    folder = Folder(model, device=torch.device("cpu"), kernels=KernelOptions(triangle="plain"))
    return folder.fold(records, **kwargs)


@pytest.mark.parametrize("records", [SEQS, COMPLEX], ids=["padded-batch", "complex"])
def test_fused_layout_fold_computes_the_plain_function(tiny_weights_dir, records):
    """End to end in fp64 (the function, free of fp32 rounding): within 1e-4 Å, padded batches and complexes.

    In fp32 the two differ by summation order only; this random tiny model amplifies that to about
    1e-3 Å after 3 passes (2.9e-4 to 1.1e-3 Å before this layout, 2.4e-4 to 9.6e-4 Å with it), so
    fp32 is checked at the bound of test_engine_equivalence.py::test_sdpa_attention_is_equivalent.
    """
    fused = _fold(tiny_weights_dir, "sdpa", records, torch.float64, num_recycles=1, max_tokens_per_batch=10_000)
    plain = _fold(tiny_weights_dir, "plain", records, torch.float64, num_recycles=1, max_tokens_per_batch=10_000)
    for a, b in zip(fused, plain):
        dev = np.linalg.norm(a.positions - b.positions, axis=-1)[a.atom_mask]
        assert dev.max() < EQUIV_TOL, f"{a.id}: {dev.max():.2e} Å"
        assert np.abs(a.plddt - b.plddt).max() < 1e-4 and np.abs(a.pae - b.pae).max() < 1e-4
    fused = _fold(tiny_weights_dir, "sdpa", records, num_recycles=1, max_tokens_per_batch=10_000)
    plain = _fold(tiny_weights_dir, "plain", records, num_recycles=1, max_tokens_per_batch=10_000)
    for a, b in zip(fused, plain):
        assert np.abs(a.positions - b.positions).max() < 1e-3 and np.abs(a.plddt - b.plddt).max() < 1e-3


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_cuda_fold_runs_only_fused_sdpa_kernels(tiny_weights_dir, precision):
    """On CUDA every SDPA call must reach a fused kernel: with the math backend disallowed a
    fallback raises instead of running slowly; the fold still matches the CPU's plain fold."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    cpu = Folder.from_pretrained(str(tiny_weights_dir), device="cpu").fold(COMPLEX | SEQS, num_recycles=1)
    folder = Folder.from_pretrained(str(tiny_weights_dir), device="cuda", precision=precision)
    with sdpa_kernel([SDPBackend.EFFICIENT_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION]):
        preds = folder.fold(COMPLEX | SEQS, num_recycles=1)
    tol = 0.01 if precision == "fp32" else 0.01 * max(np.abs(p.positions).max() for p in cpu)
    for ref, pred in zip(cpu, preds):
        assert np.abs(ref.positions - pred.positions).max() < tol
