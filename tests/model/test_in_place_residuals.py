"""During inference the trunk sums its updates into the pair state in place; the values are the plain ones.

The in-place path (``residual_`` of the layers, ``BlockedTriangleKernels.add_triangle_*``,
``primitives.residual_add``) is what bounds the CPU's memory at long lengths; the plain path is the
functional ``z + layer(z)`` that autograd-enabled runs take. Each in-place result is compared with
the functional one, with padding, with chunking and with uneven blocks of rows.
"""

from __future__ import annotations

import pytest
import torch
from tiny_models import randomize_module

from remyfold.model.kernels_blocked import CACHE_BLOCK_BYTES, BlockedTriangleKernels
from remyfold.model.primitives import chunked, residual_add
from remyfold.model.triangular_attention import TriangleAttention
from remyfold.model.triangular_multiplication import TriangleMultiplicativeUpdate
from remyfold.model.trunk_block import TrunkBlock

TOL = {"atol": 2e-5, "rtol": 2e-5}
LAYERS = {
    "attention-start": lambda: TriangleAttention(32, 8, 4, starting=True),
    "attention-end": lambda: TriangleAttention(32, 8, 4, starting=False),
    "multiplication-out": lambda: TriangleMultiplicativeUpdate(32, outgoing=True),
    "multiplication-in": lambda: TriangleMultiplicativeUpdate(32, outgoing=False),
}
# One row (and one position) per block of the multiplicative update; uneven blocks (three of the 11
# rows in the contraction, 7 positions in the projections, 2 rows in the output path); the default.
KERNELS = {
    "row-by-row": lambda: BlockedTriangleKernels(block_bytes=1, min_rows=1, pair_block_bytes=1,
                                                 position_block_bytes=1),  # fmt: skip
    "three-rows": lambda: BlockedTriangleKernels(block_bytes=1, min_rows=3, pair_block_bytes=3 * 11 * 32 * 4,
                                                 position_block_bytes=7 * 4 * 32 * 4),  # fmt: skip
    "default": BlockedTriangleKernels,
}


def _pair(n: int = 11, c_z: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """z ``[2, n, n, c_z]`` and a pair mask whose second record has 3 padded residues."""
    gen = torch.Generator().manual_seed(21)
    seq_mask = torch.ones(2, n, dtype=torch.bool)
    seq_mask[1, n - 3 :] = False
    return torch.randn(2, n, n, c_z, generator=gen), seq_mask[:, :, None] & seq_mask[:, None, :]


@pytest.mark.parametrize("kernel", sorted(KERNELS))
@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("chunk_size", [None, 4])
def test_in_place_layer_update_matches_plain(kind, kernel, chunk_size):
    layer = randomize_module(LAYERS[kind](), seed=5)
    z, mask = _pair()
    with torch.no_grad():
        expected = z + layer.forward_plain(z, mask, chunk_size)
        layer.kernel = KERNELS[kernel]()
        own = z.clone()
        result = layer.residual_(own, mask, chunk_size)
    assert result.data_ptr() == own.data_ptr()  # summed into the tensor passed, no new pair state
    torch.testing.assert_close(result, expected, **TOL)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_with_autograd_the_update_is_not_in_place(kind):
    layer = randomize_module(LAYERS[kind](), seed=5)
    layer.kernel = BlockedTriangleKernels()
    z, mask = _pair()
    before = z.clone()
    result = layer.residual_(z, mask)
    assert result.requires_grad and torch.equal(z, before)
    with torch.no_grad():
        torch.testing.assert_close(result, z + layer.forward_plain(z, mask), **TOL)


# Cache blocks of the pair bias, outer product and transitions: none (rows of the chunk), one
# position (one row), uneven (5 positions of the pair transition's 128-wide hidden layer; 1 row of
# the pair state elsewhere, 3 positions of the sequence transition).
@pytest.mark.parametrize("cache_bytes", [None, 1, 5 * 128 * 4])
def test_trunk_block_in_place_equals_the_functional_block(cache_bytes):
    block = randomize_module(TrunkBlock(64, 32, 16, 8, "plain"), seed=9)
    block.block_for_cache(cache_bytes)
    for m in block.modules():
        if isinstance(m, (TriangleAttention, TriangleMultiplicativeUpdate)):
            m.kernel = BlockedTriangleKernels(block_bytes=1, min_rows=2, pair_block_bytes=1,
                                              position_block_bytes=cache_bytes or CACHE_BLOCK_BYTES)  # fmt: skip
    gen = torch.Generator().manual_seed(10)
    s, z = torch.randn(2, 13, 64, generator=gen), torch.randn(2, 13, 13, 32, generator=gen)
    mask = torch.ones(2, 13, dtype=torch.bool)
    mask[0, 10:] = False
    functional = block(s, z, mask, 5)  # autograd on: every residual is z + update
    with torch.inference_mode():
        in_place = block(s, z, mask, 5)
    assert in_place[1] is z  # the caller's pair state is consumed: summed into, no second copy
    for a, b in zip(in_place, functional):
        torch.testing.assert_close(a, b.detach(), **TOL)


def test_residual_add_in_place_only_when_it_gives_the_same_values():
    x, u = torch.randn(3, 4), torch.randn(3, 4)
    with torch.no_grad():
        own = x.clone()
        assert residual_add(own, u) is own and torch.equal(own, x + u)
        low = x.to(torch.bfloat16)  # bf16 + fp32 is fp32: a new tensor, low left as it was
        out = residual_add(low, u)
        assert out.dtype == torch.float32 and torch.equal(low, x.to(torch.bfloat16))
        row = torch.randn(1, 4)
        assert residual_add(row.clone(), u).shape == (3, 4)  # broadcasting x: not in place
        strided = x.clone().t()
        assert residual_add(strided, u.t()) is not strided
    leaf = x.clone().requires_grad_()
    assert residual_add(leaf, u) is not leaf


def test_chunked_assembles_like_concatenation():
    x = torch.randn(2, 11, 5)
    fn = lambda rows: rows.cumsum(-1) * 2  # noqa: E731
    for size in (None, 1, 3, 11, 20):
        torch.testing.assert_close(chunked(fn, size, 1, x), fn(x), rtol=0, atol=0)
    # a broadcast argument (size 1 along dim) is passed whole
    bias = torch.randn(2, 1, 5)
    torch.testing.assert_close(chunked(lambda a, b: a + b, 4, 1, x, bias), x + bias, rtol=0, atol=0)
