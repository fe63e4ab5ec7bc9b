"""Language-model weights held in 16 bits with fp32 arithmetic: the default for fp16-stored checkpoints, and fp32-lm16."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from remyfold.api import Folder
from remyfold.errors import InputError
from remyfold.lm_storage import Upcast, drop_upcast, hold_in_half, stored_dtypes
from remyfold.loading import load_model
from remyfold.metrics.superpose import superposed_rmsd

SEQ = [("x", "MASQKRPSQRHGSKYLATASTMDHARHGFLPRHRDTGILDSIGRFFGGDRGAPKRGSGKDSHHPARTAHYGSLPQKSHGRTQDENPVVHFFKNIVTPRTPP")]
# Stated drift of fp32-lm16 on a checkpoint whose language model is stored in fp32 (README):
# Cα RMSD ≤ 0.5 % of the structure's extent and |ΔpLDDT| ≤ 0.5 on the tiny random model.
LM16_RMSD_FRACTION, LM16_PLDDT = 0.005, 0.5


def fold(folder: Folder):
    return folder.fold_batch(SEQ, num_recycles=1)[0]


def test_fp32_lm16_stays_within_its_stated_drift(tiny_weights_dir):
    exact = fold(Folder.from_pretrained(str(tiny_weights_dir), device="cpu", precision="fp32"))
    half = Folder.from_pretrained(str(tiny_weights_dir), device="cpu", precision="fp32-lm16")
    assert stored_dtypes(half.model.esm) == {torch.float16}
    assert half.model.esm.encoder["layer"][0].attention.mha.query.weight.dtype == torch.float32  # computed in fp32
    pred = fold(half)
    assert pred.precision == "fp32-lm16"
    ca, ca_exact = pred.positions[:, 1].astype(np.float64), exact.positions[:, 1].astype(np.float64)
    extent = np.ptp(ca_exact, axis=0).max()
    assert superposed_rmsd(ca, ca_exact) <= LM16_RMSD_FRACTION * extent
    assert np.abs(pred.residue_plddt - exact.residue_plddt).max() <= LM16_PLDDT
    assert not np.array_equal(pred.positions, exact.positions)  # the weights really were rounded


def test_lm16_of_an_fp32_model_equals_rounding_its_weights(tiny_weights_dir):
    rounded = load_model(tiny_weights_dir)
    with torch.no_grad():
        for p in rounded.esm.parameters():
            p.copy_(p.half().float())
    expected = fold(Folder(rounded, device=torch.device("cpu")))
    pred = fold(Folder(load_model(tiny_weights_dir), device=torch.device("cpu"), precision="fp32-lm16"))
    assert np.abs(pred.positions - expected.positions).max() < 1e-3
    assert np.abs(pred.plddt - expected.plddt).max() < 1e-3


def test_bf16_mode_replaces_the_upcast(tiny_weights_dir):
    esm = hold_in_half(load_model(tiny_weights_dir).esm)
    assert esm.encoder["layer"][0].intermediate["dense"].weight.dtype == torch.float32
    drop_upcast(esm).to(torch.bfloat16)
    assert stored_dtypes(esm) == {torch.bfloat16}
    assert esm.encoder["layer"][0].intermediate["dense"].weight.dtype == torch.bfloat16  # computed in bf16
    with pytest.raises(InputError, match="fp32-lm16"):
        Folder(load_model(tiny_weights_dir), device=torch.device("cpu"), precision="fp16")


def test_upcast_buffers_are_shared_and_freed_after_the_language_model(tiny_weights_dir):
    folder = Folder(load_model(tiny_weights_dir), device=torch.device("cpu"), precision="fp32-lm16")
    upcasts = [m for m in folder.model.esm.modules() if isinstance(m, Upcast)]
    scratch = upcasts[0].scratch
    assert all(u.scratch is scratch for u in upcasts)  # one dict: a buffer per (name, shape)
    seen = []
    folder.model.trunk.register_forward_pre_hook(lambda *_: seen.append(len(scratch)))
    first, second = fold(folder), fold(folder)
    assert seen == [0, 0] and not scratch  # nothing held while the trunk runs, nor after the fold
    with torch.no_grad():  # and they are made again on the next read
        folder.model.esm.encoder["layer"][0].intermediate["dense"].weight
    assert len(scratch) == 1
    assert np.array_equal(first.positions, second.positions)
