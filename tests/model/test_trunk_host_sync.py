"""No host sync in the trunk (issue 23): a profiler audit of one trunk pass on the CUDA code path.

A host sync (``aten::item`` / ``aten::_local_scalar_dense``: a tensor's value read by Python)
stalls the CPU until the GPU catches up, so kernel launches stop overlapping GPU work. The CPU
profiler records the same aten calls the CUDA run would make.
"""

from __future__ import annotations

import torch
from torch.profiler import ProfilerActivity, profile

from remyfold.api import auto_attention
from remyfold.loading import load_model
from remyfold.model.kernels import KernelOptions, apply_kernels

SYNC_OPS = {"aten::item", "aten::_local_scalar_dense"}
CUDA = torch.device("cuda")  # only a device name: the path choice


def _cuda_path_model(weights_dir):
    model = load_model(weights_dir, attention=auto_attention(CUDA)).eval()
    apply_kernels(model, KernelOptions(triangle="plain"), CUDA)
    return model


def _syncs(fn) -> list[str]:
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return sorted({e.name for e in prof.events() if e.name in SYNC_OPS})


def test_trunk_pass_has_no_host_sync(tiny_weights_dir):
    """Recycling embeddings, every block (chunked and whole), the structure module and the recycle distogram."""
    model = _cuda_path_model(tiny_weights_dir)
    gen = torch.Generator().manual_seed(0)
    mask = torch.ones(2, 19, dtype=torch.bool)
    mask[1, 15:] = False
    s0 = torch.randn(2, 19, model.config.trunk.sequence_state_dim, generator=gen)
    aatype = torch.randint(0, 20, (2, 19), generator=gen)
    residx = torch.arange(19).repeat(2, 1)
    for chunk in (None, 6):
        with torch.inference_mode():
            found = _syncs(lambda: model.trunk(s0, residx, mask, aatype, num_recycles=1, chunk_size=chunk))
        assert found == [], f"host syncs in the trunk (chunk {chunk}): {found}"


def test_the_audit_sees_a_sync():
    """The audit is not blind: reading a value is caught."""
    assert _syncs(lambda: torch.ones(3).sum().item()) != []
