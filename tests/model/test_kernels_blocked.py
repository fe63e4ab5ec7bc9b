"""The CPU's cache-blocked triangle layers compute what the plain layers compute, and the C-heap policy.

``remyfold.model.kernels_blocked`` is the CPU default (``KernelOptions(triangle="auto")``); the plain
layers are the reference it is held to, with and without padding, chunking and uneven row blocks.
``remyfold.allocator`` is checked by its effect, in a subprocess (it is process-wide).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from tiny_models import randomize_module

from remyfold.allocator import choose_allocator
from remyfold.model.config import ConfigError
from remyfold.model.kernels import KernelOptions, apply_kernels, resolve_triangle
from remyfold.model.kernels_blocked import ATTENTION_CORES, SDPA_MIN_RESIDUES, BlockedTriangleKernels
from remyfold.model.triangular_attention import TriangleAttention
from remyfold.model.triangular_multiplication import TriangleMultiplicativeUpdate
from remyfold.model.trunk_block import TrunkBlock

TOL = {"atol": 2e-5, "rtol": 2e-5}




def _pair(seed: int, n: int, padded: bool, c_z: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """z ``[2, n, n, c_z]`` and its pair mask; with ``padded`` the second record's last 3 residues are padding."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(2, n, n, c_z, generator=gen)
    seq_mask = torch.ones(2, n, dtype=torch.bool)
    if padded:
        seq_mask[1, n - 3 :] = False
    return z, seq_mask[:, :, None] & seq_mask[:, None, :]


LAYERS = {
    "attention-start": lambda: TriangleAttention(32, 8, 4, starting=True),
    "attention-end": lambda: TriangleAttention(32, 8, 4, starting=False),
    "multiplication-out": lambda: TriangleMultiplicativeUpdate(32, outgoing=True),
    "multiplication-in": lambda: TriangleMultiplicativeUpdate(32, outgoing=False),
}


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("chunk_size", [None, 5])
@pytest.mark.parametrize("core", ATTENTION_CORES)
def test_blocked_layer_matches_plain(kind, padded, chunk_size, core):
    layer = randomize_module(LAYERS[kind](), seed=3)
    z, mask = _pair(4, 11, padded)
    # 11 rows in blocks of 4, 4 and 3 (an uneven last block), and in one block
    kernel = BlockedTriangleKernels(block_bytes=1, min_rows=4, core=core)
    assert kernel.rows_per_block(2, 4, 11, 4) == 4
    with torch.no_grad():
        plain = layer(z, mask, chunk_size)
        for blocked in (kernel, BlockedTriangleKernels(core=core)):
            layer.kernel = blocked
            torch.testing.assert_close(layer(z, mask, chunk_size), plain, **TOL)
    if padded:  # padding really matters here: the padded record's valid rows move when the mask is dropped
        layer.kernel = None
        with torch.no_grad():
            unmasked = layer(z, torch.ones_like(mask), chunk_size)
        assert (unmasked[1, :8, :8] - plain[1, :8, :8]).abs().max() > 1e-3


def test_blocked_attention_cores_differ_only_by_rounding_and_an_unknown_core_is_refused():
    """The two cores give the same attention (to fp32 rounding) on a padded batch; auto picks by length."""
    layer = randomize_module(TriangleAttention(32, 8, 4, starting=False), seed=5)
    z, mask = _pair(6, 9, padded=True)
    with torch.no_grad():
        out = {}
        for core in ("sdpa", "matmul"):
            layer.kernel = BlockedTriangleKernels(block_bytes=1, min_rows=2, core=core)
            out[core] = layer(z, mask)
    torch.testing.assert_close(out["sdpa"], out["matmul"], **TOL)
    auto = BlockedTriangleKernels()  # the default: by length, where each was measured faster
    assert auto.core == "auto" and auto.core_for(SDPA_MIN_RESIDUES - 1) == "matmul"
    assert auto.core_for(SDPA_MIN_RESIDUES) == "sdpa" and BlockedTriangleKernels(core="matmul").core_for(999) == "matmul"
    with pytest.raises(ValueError, match="attention core 'flash' unknown"):
        BlockedTriangleKernels(core="flash")


def test_blocked_trunk_block_matches_plain():
    block = randomize_module(TrunkBlock(64, 32, 16, 8, "plain"), seed=9)
    gen = torch.Generator().manual_seed(10)
    s, z = torch.randn(2, 13, 64, generator=gen), torch.randn(2, 13, 13, 32, generator=gen)
    mask = torch.ones(2, 13, dtype=torch.bool)
    mask[0, 10:] = False
    with torch.no_grad():
        plain = block(s, z.clone(), mask)  # the block sums its updates into the z it is given
        for m in block.modules():
            if isinstance(m, (TriangleAttention, TriangleMultiplicativeUpdate)):
                m.kernel = BlockedTriangleKernels(block_bytes=1, min_rows=2)  # 2 rows per block
        blocked = block(s, z.clone(), mask)
    for a, b in zip(blocked, plain):
        torch.testing.assert_close(a, b, **TOL)


def test_rows_per_block_follow_the_budget():
    kernel = BlockedTriangleKernels()
    assert kernel.rows_per_block(1, 4, 64, 4) == 16  # 1 MiB of logits
    assert kernel.rows_per_block(1, 4, 128, 4) == 4
    assert kernel.rows_per_block(1, 4, 256, 4) == 4  # at least 4 rows
    assert kernel.rows_per_block(2, 4, 64, 4) == 8


def test_auto_is_blocked_on_the_cpu_only():
    assert resolve_triangle("auto", torch.device("cpu")) == "blocked"
    assert resolve_triangle("blocked", torch.device("cpu")) == "blocked"
    assert resolve_triangle("plain", torch.device("cpu")) == "plain"
    assert KernelOptions().triangle == "auto" and KernelOptions().cpu_allocator == "reuse"
    with pytest.raises(ConfigError, match="cpu allocator"):
        KernelOptions(cpu_allocator="jemalloc")


def test_apply_attaches_blocked_kernel(tiny_reference):
    from remyfold.model import ESMFold, FoldingConfig

    model = ESMFold(FoldingConfig.from_hf_dict(tiny_reference.config.to_dict()))
    choice = apply_kernels(model, KernelOptions(), torch.device("cpu"))
    layers = [m for m in model.modules() if isinstance(m, (TriangleAttention, TriangleMultiplicativeUpdate))]
    assert choice.triangle == "blocked" and layers and all(isinstance(m.kernel, BlockedTriangleKernels) for m in layers)


# A child process frees a 256 MB block and reports how much of it its RSS lost at the free and
# after release_free_memory, with or without the policy: glibc unmaps the block at once by default;
# under the policy it stays until release_free_memory.
_PROBE = """
import ctypes, json, sys
from remyfold.allocator import choose_allocator, release_free_memory
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
applied = choose_allocator(sys.argv[1], "cpu")
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
size = 256 << 20
block = libc.malloc(ctypes.c_size_t(size))
ctypes.memset(block, 1, size)
before = rss()
libc.free(ctypes.c_void_p(block))
at_free = before - rss()
release_free_memory()
print(json.dumps({"applied": applied, "at_free": at_free, "after_release": before - rss()}))
"""


def _probe(choice: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE, choice], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_reuse_policy_keeps_freed_memory_until_released():
    system, reuse = _probe("system"), _probe("reuse")
    assert system["applied"] == "system" and system["at_free"] > 200 << 20
    assert reuse["applied"] == "reuse" and reuse["at_free"] < 16 << 20
    assert reuse["after_release"] > 200 << 20


def test_policy_only_for_the_cpu():
    assert choose_allocator("reuse", "cuda") == "system"
    assert choose_allocator("system", "cpu") == "system"


def test_cpu_chunks_long_sequences_only():
    from remyfold.api import auto_chunk_size

    cpu = torch.device("cpu")
    assert auto_chunk_size(cpu, 128, 128) is None and auto_chunk_size(cpu, 256, 128) == 128
    assert auto_chunk_size(cpu, 400, 128) == 81
    assert auto_chunk_size(cpu, 181, 128) is None and auto_chunk_size(cpu, 182, 128) == 180
    assert auto_chunk_size(cpu, 400, 128, batch=2) == 40
    assert auto_chunk_size(torch.device("cuda"), 400, 128) is None

