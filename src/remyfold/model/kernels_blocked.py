"""Cache-blocked triangle layers for the CPU: the same arithmetic as the plain layers, laid out for caches.

The plain triangular attention (AlphaFold 2 Algorithms 13/14) builds the logits of every row at
once, ``[B, N, H, N, N]`` (268 MB at N = 256), and passes over them four times (product, two bias
additions, softmax) — each pass a trip to main memory. On a 2-core CPU those passes cost more
than the matrix products. The plain multiplicative update (Algorithms 11/12) permutes its
projections channel-first as strided views, and ``torch.matmul`` then copies every ``[N, N]``
channel matrix separately before its batched product.

:class:`BlockedTriangleKernels` is a drop-in for both layers (:mod:`remyfold.model.kernels`
attaches it to every triangle layer; ``KernelOptions(triangle="blocked")``, the CPU's ``auto``):

* **Triangle attention** runs a block of rows ``i`` at a time through the projections, the
  attention and the gate — as many rows as keep a block's logits ``[B, R, H, N, N]`` within
  :data:`BLOCK_LOGIT_BYTES`, and at least :data:`MIN_ROWS` — so they stay in cache while they are
  biased and normalised; the padding-mask term is skipped when no key is masked (it adds 0.0 to
  every logit: the same result). The attention core is chosen once (``core``): ``sdpa`` hands a
  block to PyTorch's fused CPU kernel (:func:`torch.nn.functional.scaled_dot_product_attention`:
  product, bias, online softmax and the product with ``v`` over tiles, the logits never written
  out); ``matmul`` builds the block's logits and adds the biases in place (the plain layers' order
  of operations); ``auto`` (default) takes ``sdpa`` from :data:`SDPA_MIN_RESIDUES` residues on,
  where it was measured faster, and ``matmul`` below.
* **Triangle multiplication** normalises ``z`` and computes its four gated projections a block of
  positions at a time, channel-first, with one product for all four (``[4C, C] @ [C, p]``), and
  writes the gated products into ``a`` and ``b`` ``[B, C, N, N]``; it contracts ``k`` a block of
  output rows at a time with one batched product over channels whose per-channel transposes BLAS
  reads in place, and runs the output path (normalisation, output projection, gate) on
  cache-sized sub-blocks of those rows.
  Every temporary of the projections and the output path fits :data:`CACHE_BLOCK_BYTES`, so its
  elementwise passes read cache, not memory. The pair mask's product is skipped when no pair is
  masked (a product with 1.0: the same result), and the output gate is applied in place.
* **In place** (``add_triangle_*``, inference only): the update of a block of rows is added into
  the pair state as soon as it is computed, so no full-size update — nor a second full-size copy
  of the normalised pair state — is held (at 400 residues each is 78 MiB; together with the
  in-place residual additions of :mod:`remyfold.model.trunk_block`, one full-size block at 400
  residues grew the C heap by 5.9 pair-sized tensors instead of 12.6, at the same speed).

Each element is computed by the same operations as in the plain layers, except that products run
channel-first or on a block of rows, where BLAS may sum the 128 input channels in another order
(differences of the order of fp32 rounding; ``tests/model/test_kernels_blocked.py`` and
``tests/model/test_in_place_residuals.py`` hold the plain layers to that). The plain layers stay the
reference (:meth:`forward_plain`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: Bytes of attention logits per block of rows, and the fewest rows per block. Measured on the
#: attention core (4 heads, fp32, 2-core AVX-512 CPU), ms per call by rows per block:
#: N = 64: 4 rows 3.7, 16 rows (1 MiB) 3.1, all 64 rows 4.8;  N = 128: 1 row 19.9, 4 rows (1 MiB)
#: 16.8, 16 rows 18.3, all 87.8;  N = 256: 1 row (1 MiB) 96, 4 rows 90, 16 rows 118, all 166.
BLOCK_LOGIT_BYTES = 1 << 20
MIN_ROWS = 4
#: The attention cores (see the module docstring). Both layers of a block, medians of 6 alternated
#: runs, sdpa / matmul on a 2-core AVX-512 CPU (bench/results/cpu-attention-core.md): 64 residues
#: 1.06, 128 1.00, 160 1.09, 192 0.91, 256 0.80, 384 0.99 (an earlier run, not kept: 160 0.94,
#: 256 0.82, 384 0.81). Below 192 residues SDPA was not faster.
ATTENTION_CORES = ("auto", "sdpa", "matmul")
SDPA_MIN_RESIDUES = 192
#: Bytes of one ``[B, R, N, C_z]`` temporary per block of rows in the multiplicative update.
PAIR_BLOCK_BYTES = 8 << 20
#: Bytes of the widest temporary per block of positions in the cache-blocked passes: the
#: multiplicative update's projections (``[4·C_z, p]``) and output path (``[B, r, N, C_z]``), and,
#: through :meth:`~remyfold.model.trunk_block.TrunkBlock.block_for_cache`, the trunk's pair bias,
#: outer product and transitions. A block that stays in a core's cache (2 MiB L2, 32 MiB shared L3
#: here) is read back from cache by the gating, normalising and ReLU passes. A whole trunk block at
#: 256 residues, alternated in one process, same values (bench/results/cpu-cache-blocks.md, 2-core
#: AVX-512 CPU): median 0.897 s with 2 MiB blocks against 0.923 s in chunks of rows; 1 MiB 0.921 s,
#: 4 MiB 0.890 s.
CACHE_BLOCK_BYTES = 2 << 20


class BlockedTriangleKernels:
    """The kernel object the triangle layers call instead of their plain path (pure PyTorch, any device).

    Two entry points per layer: ``triangle_*`` returns the update (the plain layers' contract);
    ``add_triangle_*`` adds it into ``z`` itself, a block of rows at a time, so that no full-size
    update tensor exists (inference only: the layers call it when
    :func:`~remyfold.model.primitives.in_place_allowed`).

    Args: block_bytes: logit bytes per block of attention rows.  min_rows: fewest rows per block.
        pair_block_bytes: bytes of one pair-shaped ``[B, R, N, C_z]`` temporary of the
        multiplicative update per block of rows (its contraction).  position_block_bytes: bytes of
        the widest temporary per block of positions in its projections and output path.
        core: the attention core, one of :data:`ATTENTION_CORES`.
    """

    status = "blocked"

    def __init__(self, block_bytes: int = BLOCK_LOGIT_BYTES, min_rows: int = MIN_ROWS,
                 pair_block_bytes: int = PAIR_BLOCK_BYTES, core: str = "auto",
                 position_block_bytes: int = CACHE_BLOCK_BYTES):  # fmt: skip
        if core not in ATTENTION_CORES:
            raise ValueError(f"attention core {core!r} unknown; choose one of {', '.join(ATTENTION_CORES)}")
        self.block_bytes, self.min_rows, self.pair_block_bytes = block_bytes, min_rows, pair_block_bytes
        self.position_block_bytes = position_block_bytes
        self.core = core

    def rows_per_block(self, batch: int, heads: int, n: int, itemsize: int) -> int:
        """Rows ``i`` whose logits ``[batch, rows, heads, n, n]`` fit in :attr:`block_bytes`, at least :attr:`min_rows`."""
        return max(self.min_rows, self.block_bytes // (batch * heads * n * n * itemsize))

    def core_for(self, n: int) -> str:
        """The attention core a layer of ``n`` residues runs: :attr:`core`, or by length for ``auto``."""
        if self.core == "auto":
            return "sdpa" if n >= SDPA_MIN_RESIDUES else "matmul"
        return self.core

    def pair_rows(self, z: torch.Tensor, chunk_size: int | None) -> int:
        """Rows of ``z`` ``[B, N, N, C]`` per block of the multiplicative update (at most ``chunk_size``)."""
        rows = max(1, self.pair_block_bytes // (z[:, 0].numel() * z.element_size()))
        return min(rows, chunk_size) if chunk_size else rows

    def triangle_attention(self, module, z: torch.Tensor, mask: torch.Tensor, chunk_size: int | None) -> torch.Tensor:
        """:meth:`TriangleAttention.forward_plain`'s function, a few rows at a time.

        Args: module: the :class:`~remyfold.model.triangular_attention.TriangleAttention` layer.
            z ``[B, N, N, C_z]``, mask ``[B, N, N]``.  chunk_size: the most rows per block (the
            blocks are usually smaller already).
        Returns: the update ``[B, N, N, C_z]``.
        """
        out = _assembled(self._attention_rows(module, z, mask, chunk_size), _frame(module, z).shape)
        return out.transpose(-2, -3) if not module.starting else out

    def add_triangle_attention(self, module, z: torch.Tensor, mask: torch.Tensor, chunk_size: int | None) -> torch.Tensor:
        """``z + triangle_attention(z)``, summed into ``z`` a block of rows at a time; returns ``z``.

        Row i's update reads only row i of the normalised pair state (a separate tensor) and the
        triangle bias, both computed from ``z`` before any row is written (for the ending node the
        rows are columns of ``z``, written through the transposed view).
        """
        target = _frame(module, z)
        for rows, update in self._attention_rows(module, z, mask, chunk_size):
            target[:, rows] += update
        return z

    def _attention_rows(self, module, z: torch.Tensor, mask: torch.Tensor, chunk_size: int | None):
        """Yield ``(rows, update)`` per block of rows ``i`` of the layer's frame (z transposed for the ending node).

        Yields: a slice of rows and their update ``[B, R, N, C_z]``.
        """
        if not module.starting:
            mask = mask.transpose(-1, -2)
        z = module.layer_norm(_frame(module, z))
        # [B, I, 1, 1, K]: padding keys get -inf (large negative); None when no key is padded.
        mask_bias = None if bool(mask.all()) else (module.inf * (mask.to(z.dtype) - 1))[..., :, None, None, :]
        # [B, I, J, H] -> [B, 1, H, J, K]: the same triangle bias for every row i.
        pair_bias = module.linear(z).permute(0, 3, 1, 2).unsqueeze(1)
        core = self.core_for(z.shape[2])
        if core == "sdpa":  # the fused kernel reads a mask with a contiguous last dim
            pair_bias = pair_bias.contiguous()
        step = self.rows_per_block(z.shape[0], module.mha.num_heads, z.shape[2], z.element_size())
        step = min(step, chunk_size) if chunk_size else step
        for start in range(0, z.shape[1], step):
            rows = slice(start, start + step)
            row_mask = None if mask_bias is None else mask_bias[:, rows]
            yield rows, _gated_attention(module.mha, z[:, rows], row_mask, pair_bias, core)

    def triangle_multiplication(self, module, z: torch.Tensor, mask: torch.Tensor, chunk_size: int | None):
        """:meth:`TriangleMultiplicativeUpdate.forward_plain`'s function with channel-first projections.

        Args: module: the :class:`~remyfold.model.triangular_multiplication.TriangleMultiplicativeUpdate`.
            z ``[B, N, N, C_z]``, mask ``[B, N, N]``.  chunk_size: the most rows ``i`` per step.
        Returns: the update ``[B, N, N, C_z]``.
        """
        return _assembled(self._multiplication_rows(module, z, mask, chunk_size), z.shape)

    def add_triangle_multiplication(self, module, z: torch.Tensor, mask: torch.Tensor, chunk_size: int | None):
        """``z + triangle_multiplication(z)``, summed into ``z`` a block of rows at a time; returns ``z``.

        The projections ``a``, ``b`` are complete before any row is written, and row i's output
        gate reads row i of ``z`` just before that row is written.
        """
        for rows, update in self._multiplication_rows(module, z, mask, chunk_size):
            z[:, rows] += update
        return z

    def _multiplication_rows(self, module, z: torch.Tensor, mask: torch.Tensor, chunk_size: int | None):
        """Yield ``(rows, update)`` per cache-sized block of output rows ``i``: update ``[B, r, N, C_z]``."""
        step = self.pair_rows(z, chunk_size)
        a, b = _projections(module, z, mask, self.position_block_bytes)
        # outgoing x[c,i,j] = Σ_k a[c,i,k] b[c,j,k]; incoming x[c,i,j] = Σ_k a[c,k,i] b[c,k,j]
        if module.outgoing:
            b = b.transpose(-1, -2)
        else:
            a = a.transpose(-1, -2)
        # rows of one output temporary [B, r, N, C] within position_block_bytes
        sub = max(1, self.position_block_bytes // (z[:, 0].numel() * z.element_size()))
        for start in range(0, z.shape[1], step):
            # [B, C, R, N] @ [B, C, N, N] -> [B, C, R, N]
            x = torch.matmul(a[:, :, start : start + step], b)
            for first in range(0, x.shape[2], sub):
                rows = slice(start + first, start + min(first + sub, x.shape[2]))
                yield rows, _output_rows(module, x[:, :, first : first + sub], z[:, rows])


def _assembled(blocks, shape: torch.Size) -> torch.Tensor:
    """The updates of ``(rows, update)`` blocks written into one tensor of ``shape`` (rows along dim 1)."""
    out = None
    for rows, update in blocks:
        if out is None:
            out = update.new_empty(shape)
        out[:, rows] = update
    return out


def _frame(module, z: torch.Tensor) -> torch.Tensor:
    """The pair state as the attention layer sees it: ``z`` (starting node) or its transposed view (ending node)."""
    return z if module.starting else z.transpose(-2, -3)


def _output_rows(module, x: torch.Tensor, z_rows: torch.Tensor) -> torch.Tensor:
    """``sigmoid(W_g LN_in(z)) · W_z LN_out(x)`` for a block of rows.

    Args: x ``[B, C, r, N]`` (channel-first contraction).  z_rows ``[B, r, N, C]``.
    Returns: the update ``[B, r, N, C]``.
    """
    # [B, C, r, N] -> [B, r, N, C]: channels last (the normalisation copies it contiguous)
    x = module.linear_z(module.layer_norm_out(x.permute(0, 2, 3, 1)))
    return module.linear_g(module.layer_norm_in(z_rows)).sigmoid_().mul_(x)


def _projections(module, z: torch.Tensor, mask: torch.Tensor, block_bytes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The gated, masked projections ``a``, ``b`` ``[B, C, N, N]`` (channel-first), a block of positions at a time.

    Each block of ``p`` positions of one record is normalised and projected by all four linear
    layers in one product, channel-first (``[4C, C] @ [C, p]``, ``p`` such that the product fits
    ``block_bytes``), gated and masked there, and copied into the block's columns of ``a`` and ``b``
    (rows of ``p`` contiguous elements, no transposition). Whatever the blocks, each element is
    ``mask · sigmoid(W_g z + b_g) · (W_p z + b_p)`` of its own position.
    """
    batch, n, _, c = z.shape
    layers = (module.linear_a_p, module.linear_a_g, module.linear_b_p, module.linear_b_g)
    # [4C, C] and [4C, 1]: the four projections stacked, output rows a_p | a_g | b_p | b_g
    weight = torch.cat([layer.weight for layer in layers])
    bias = torch.cat([layer.bias for layer in layers])[:, None]
    masked = not bool(mask.all())  # all kept: the product with 1.0 is skipped
    a, b = z.new_empty(batch, c, n, n), z.new_empty(batch, c, n, n)
    step = max(1, block_bytes // (4 * c * z.element_size()))
    for record in range(batch):
        # [N, N, C] -> [N·N, C] positions; [C, N, N] -> [C, N·N] channel-first targets (views)
        positions = z[record].reshape(n * n, c)
        targets = (a[record].view(c, n * n), b[record].view(c, n * n))
        keep = mask[record].reshape(1, n * n).to(z.dtype) if masked else None
        for start in range(0, n * n, step):
            block = slice(start, start + step)
            # [4C, C] @ [C, p] (the normalised block read transposed) -> [4C, p]
            projected = torch.addmm(bias, weight, module.layer_norm_in(positions[block]).t())
            for k, target in enumerate(targets):
                gate = projected[(2 * k + 1) * c : (2 * k + 2) * c].sigmoid_()
                if keep is not None:
                    gate.mul_(keep[:, block])
                target[:, block] = gate.mul_(projected[2 * k * c : (2 * k + 1) * c])
    return a, b


def _gated_attention(mha, x: torch.Tensor, mask_bias: torch.Tensor | None, pair_bias: torch.Tensor,
                     core: str = "matmul") -> torch.Tensor:  # fmt: skip
    """:class:`~remyfold.model.triangular_attention.GatedAttention` on a block of rows.

    Args: mha: the attention module.  x ``[B, R, N, C_in]`` (R rows).  mask_bias ``[B, R, 1, 1, N]``
        or None.  pair_bias ``[B, 1, H, N, N]``.  core: ``matmul`` (logits built, biases added in
        place) or ``sdpa`` (PyTorch's fused kernel; ``pair_bias`` contiguous in its last dim).
    Returns: ``[B, R, N, C_in]``.
    """
    q, k, v = mha.project(x)
    q = q / math.sqrt(mha.c_hidden)
    if core == "sdpa":
        return mha.output(x, _sdpa_rows(q, k, v, mask_bias, pair_bias))
    # [B, R, H, N, C] @ [B, R, H, C, N] -> logits [B, R, H, N, N]
    logits = torch.matmul(q, k.transpose(-1, -2))
    if mask_bias is not None:
        logits += mask_bias
    logits += pair_bias
    o = torch.matmul(F.softmax(logits, dim=-1), v)
    return mha.output(x, o)


def _sdpa_rows(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask_bias: torch.Tensor | None,
               pair_bias: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """``softmax(q·kᵀ + mask_bias + pair_bias)·v`` through the fused SDPA kernel, one call per record.

    Args: q (pre-scaled), k, v ``[B, R, H, N, C]``.  mask_bias ``[B, R, 1, 1, N]`` or None.
        pair_bias ``[B, 1, H, N, N]``.
    Returns: ``[B, R, H, N, C]``.
    """
    out = []
    for i in range(q.shape[0]):
        # record i's mask: [1, H, N, N] broadcast over the R rows (no copy), or with the padding
        # term the block's own [R, H, N, N]
        mask = pair_bias[i] if mask_bias is None else pair_bias[i] + mask_bias[i]
        # [R, H, N, C]: the rows are SDPA's batch; q is pre-scaled, so SDPA's scaling is off (scale=1)
        out.append(F.scaled_dot_product_attention(q[i], k[i], v[i], attn_mask=mask, scale=1.0))
    return torch.stack(out)
