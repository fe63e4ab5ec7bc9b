"""GPU fast paths against the plain CPU path (skipped without CUDA; run them on a GPU machine)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from remyfold.api import Folder

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]
SEQS = {"a": "ASQKRPSQRHGSKYLATASTMDHARHGFLPRHRDTGILDSIGRFFGGDRGAPK", "b": "MKTAYIAKQ:GSHMLEDPV"}


@pytest.fixture(scope="module")
def cpu_plain(tiny_weights_dir):
    return Folder.from_pretrained(str(tiny_weights_dir), device="cpu").fold(SEQS, num_recycles=2)


@pytest.mark.parametrize("attention", ["plain", "sdpa"])
@pytest.mark.parametrize("chunk_size", [None, 8])
def test_cuda_fp32_matches_cpu(tiny_weights_dir, cpu_plain, attention, chunk_size):
    folder = Folder.from_pretrained(str(tiny_weights_dir), device="cuda", attention=attention, chunk_size=chunk_size)
    for ref, pred in zip(cpu_plain, folder.fold(SEQS, num_recycles=2)):
        assert np.abs(ref.positions - pred.positions).max() < 0.01
        assert np.abs(ref.plddt - pred.plddt).max() < 0.1


def test_cuda_default_uses_fused_attention(tiny_weights_dir):
    folder = Folder.from_pretrained(str(tiny_weights_dir), device="cuda")
    from remyfold.model.primitives import attention_sdpa

    assert folder.model.trunk.blocks[0].seq_attention.attention is attention_sdpa


def test_cuda_bf16_tracks_fp32(tiny_weights_dir, cpu_plain):
    folder = Folder.from_pretrained(str(tiny_weights_dir), device="cuda", precision="bf16")
    for ref, pred in zip(cpu_plain, folder.fold(SEQS, num_recycles=2)):
        scale = np.abs(ref.positions[:, 1]).max()
        assert np.isfinite(pred.positions).all()
        assert np.abs(ref.positions[:, 1] - pred.positions[:, 1]).max() < 0.01 * scale


def test_cuda_auto_precision_follows_the_rule(tiny_weights_dir):
    from remyfold.precision import CUDA_DEFAULT_PRECISION

    assert Folder.from_pretrained(str(tiny_weights_dir), device="cuda").precision == CUDA_DEFAULT_PRECISION


def test_cuda_compiled_trunk_matches_cpu(tiny_weights_dir, cpu_plain):
    from remyfold.model.kernels import KernelOptions

    folder = Folder.from_pretrained(str(tiny_weights_dir), device="cuda", kernels=KernelOptions(compile_trunk=True))
    for ref, pred in zip(cpu_plain, folder.fold(SEQS, num_recycles=2)):
        assert np.abs(ref.positions - pred.positions).max() < 0.01
        assert np.abs(ref.plddt - pred.plddt).max() < 0.1


# ---- NVIDIA cuEquivariance triangle kernels (remyfold[cuda-kernels]) against the plain layers ----------


@pytest.fixture(scope="module")
def cuequivariance():
    from remyfold.model import kernels_cuequivariance as cueq

    if not cueq.is_installed():
        pytest.skip("cuequivariance-torch is not installed (pip install 'remyfold[cuda-kernels]')")
    kernel = cueq.CuEquivarianceTriangleKernels(fallback=False)
    kernel.load()  # a broken install fails here, loudly, instead of skipping
    return kernel


def _relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    assert torch.isfinite(out).all()
    return float((out.double() - ref.double()).norm() / ref.double().norm())


def _random_layer(layer: torch.nn.Module, seed: int) -> torch.nn.Module:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) / (p.shape[-1] ** 0.5 if p.dim() > 1 else 3.0) + (p.dim() == 1))
    return layer.cuda().eval()


@pytest.mark.parametrize("kind", ["start", "end", "out", "in"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cuequivariance_layers_match_plain(cuequivariance, kind, dtype):
    """esmfold_v1's pair sizes (C_z 128, 4 heads of 32), a padded second record, fresh random inputs."""
    from remyfold.model.triangular_attention import TriangleAttention
    from remyfold.model.triangular_multiplication import TriangleMultiplicativeUpdate

    layer = TriangleAttention(128, 32, 4, starting=kind == "start") if kind in ("start", "end") else \
        TriangleMultiplicativeUpdate(128, outgoing=kind == "out")  # fmt: skip
    layer = _random_layer(layer, seed=["start", "end", "out", "in"].index(kind))
    n = 77
    z = torch.randn(2, n, n, 128, device="cuda")
    seq_mask = torch.ones(2, n, dtype=torch.bool, device="cuda")
    seq_mask[1, 60:] = False
    mask = seq_mask[:, :, None] & seq_mask[:, None, :]
    valid = mask[..., None].expand_as(z)
    low = dtype == torch.bfloat16
    with torch.no_grad():
        exact = layer(z, mask)  # plain layers in fp32: the yardstick
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=low):
            plain = layer(z, mask)
            layer.kernel = cuequivariance
            fused = layer(z, mask)
    plain_error = _relative_error(plain.float()[valid], exact[valid])
    fused_error = _relative_error(fused.float()[valid], exact[valid])
    # fp32: the same function to rounding (TF32x3 inside the fused update); bf16: no worse than
    # our own bf16 path (twice its error, at least 1e-2 allowed).
    assert fused_error < (max(1e-2, 2 * plain_error) if low else 1e-3)


def test_cuequivariance_folder_matches_cpu(tiny_weights_dir, cpu_plain, cuequivariance):
    from remyfold.model.kernels import KernelOptions

    folder = Folder.from_pretrained(str(tiny_weights_dir), device="cuda",
                                    kernels=KernelOptions(triangle="cuequivariance"))  # fmt: skip
    preds = folder.fold(SEQS, num_recycles=2)
    assert folder.kernels.status.startswith("triangle cuequivariance")
    for ref, pred in zip(cpu_plain, preds):
        assert np.abs(ref.positions - pred.positions).max() < 0.01
        assert np.abs(ref.plddt - pred.plddt).max() < 0.1
