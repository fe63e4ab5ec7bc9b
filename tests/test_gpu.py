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
