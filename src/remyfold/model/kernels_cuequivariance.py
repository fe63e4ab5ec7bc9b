"""NVIDIA cuEquivariance fused triangle kernels as a drop-in for the plain triangle layers.

``cuequivariance_torch`` (the kernels Boltz and OpenFold3 use; extra ``remyfold[cuda-kernels]``)
provides two functions that compute exactly what our plain layers compute (checked against their
reference formulas in ``cuequivariance_ops_torch`` 0.13):

* ``triangle_attention(q, k, v, bias, mask, scale)`` — q, k, v ``[B, I, H, J, C]`` (row ``i``
  of the pair state, head ``h``), bias ``[B, 1, H, J, K]`` (cast to fp32 inside), mask bool
  ``[B, I, 1, 1, K]``; logits ``scale·q·k + bias − 1e9·¬mask``, softmax over ``K``. That is
  :meth:`TriangleAttention.forward_plain` (scale ``1/√C``, an additive ``−1e9`` on masked keys,
  the same layouts), so the LayerNorm, the bias projection and the gated output projection stay
  ours and only the attention core is replaced.
* ``triangle_multiplicative_update(x, direction, mask, norm_in_*, p_in_*, g_in_*, norm_out_*,
  p_out_*, g_out_*)`` — AlphaFold 2 Algorithms 11/12 in one call: ``a, b = mask·σ(g_in(LN(x)))·
  p_in(LN(x))`` with the packed weights' rows ``[a; b]``, ``outgoing x_ij = Σ_k a_ik b_jk`` /
  ``incoming x_ij = Σ_k a_ki b_kj``, ``out = p_out(LN_out(x))·σ(g_out(LN(x)))``: our
  ``linear_{a,b}_{p,g}``, ``linear_z`` (``p_out``) and ``linear_g`` (``g_out``). The fused call
  does not take a chunk size: it never builds the ``[B, C, N, N]`` product blocks that our
  ``chunk_size`` bounds (rows of the triangular attention are still chunked).

Precision follows the inputs (fp32 in, fp32 kernel with TF32 only where PyTorch allows it;
bf16 ``z`` and weights in the bf16 precision). The import is lazy: the first call imports the
package and its CUDA libraries. Where that fails (not installed, no CUDA libraries), an explicit choice raises
:class:`KernelUnavailableError` with one line; ``auto`` warns once, in one line, and runs the
plain PyTorch path from then on (:attr:`CuEquivarianceTriangleKernels.status` says which ran).
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import warnings

import torch

from remyfold.errors import one_line
from remyfold.model.primitives import chunked

PACKAGE = "cuequivariance_torch"
OPS_PACKAGE = "cuequivariance_ops_torch"  # the compiled CUDA ops behind PACKAGE
EXTRA = "remyfold[cuda-kernels] (CUDA 12 PyTorch) or remyfold[cuda13-kernels] (CUDA 13)"


class KernelUnavailableError(RuntimeError):
    """A kernel library chosen explicitly cannot be loaded on this machine (one-line message)."""


def is_installed() -> bool:
    """Whether the Python package is present (its CUDA libraries are only tried on first use)."""
    return importlib.util.find_spec(PACKAGE) is not None


class CuEquivarianceTriangleKernels:
    """The two fused triangle kernels, loaded on first call.

    Args: fallback: on a failed load, warn once and use the plain path (``auto``) instead of raising.
    """

    name = "cuequivariance"

    def __init__(self, fallback: bool):
        self.fallback = fallback
        self._ops = None
        self.failure: str | None = None

    @property
    def status(self) -> str:
        """``cuequivariance``, ``plain (fallback: …)`` or ``cuequivariance (not loaded yet)``."""
        if self._ops is not None:
            return self.name
        if self.failure is not None:
            return f"plain (fallback: {self.failure})" if self.fallback else f"unavailable: {self.failure}"
        return f"{self.name} (not loaded yet)"

    def load(self):
        """The ``cuequivariance_torch`` module, or ``None`` after a failed load with fallback."""
        if self._ops is None and self.failure is None:
            try:
                importlib.import_module(OPS_PACKAGE)  # loads the CUDA libraries: fails here without them
                self._ops = importlib.import_module(PACKAGE)
            except Exception as err:  # noqa: BLE001 - ImportError, OSError (missing .so), RuntimeError (no driver)
                self.failure = f"cannot load {PACKAGE} ({one_line(err)}); install {EXTRA} on a CUDA machine"
                if self.fallback:
                    warnings.warn(f"{self.failure}; using the plain PyTorch triangle layers", RuntimeWarning, 3)
        if self._ops is None and not self.fallback:
            raise KernelUnavailableError(self.failure)
        return self._ops

    def triangle_attention(self, module, z: torch.Tensor, mask: torch.Tensor, chunk_size: int | None) -> torch.Tensor:
        """:meth:`TriangleAttention.forward` with the fused attention core; same shapes and function."""
        ops = self.load()
        if ops is None:
            return module.forward_plain(z, mask, chunk_size)
        if not module.starting:
            z, mask = z.transpose(-2, -3), mask.transpose(-1, -2)
        z = module.layer_norm(z)
        # [B, I, J, H] -> [B, 1, H, J, K]: the same triangle bias for every row i.
        pair_bias = module.linear(z).permute(0, 3, 1, 2).unsqueeze(1)
        # [B, I, K] -> [B, I, 1, 1, K]: which keys each row may attend to.
        key_mask = mask.bool()[..., :, None, None, :]
        mha, scale = module.mha, 1.0 / math.sqrt(module.mha.c_hidden)

        def rows(zc: torch.Tensor, mc: torch.Tensor) -> torch.Tensor:
            # q, k, v [B, I, H, J, C], contiguous as the kernel wants them.
            q, k, v = (t.contiguous() for t in mha.project(zc))
            return mha.output(zc, ops.triangle_attention(q, k, v, pair_bias, mc, scale))

        out = chunked(rows, chunk_size, 1, z, key_mask)
        return out.transpose(-2, -3) if not module.starting else out

    def triangle_multiplication(self, module, z: torch.Tensor, mask: torch.Tensor, chunk_size: int | None):
        """:meth:`TriangleMultiplicativeUpdate.forward` in one fused call (``chunk_size`` not needed, see above)."""
        ops = self.load()
        if ops is None:
            return module.forward_plain(z, mask, chunk_size)
        m = module
        # Packed input projections: rows [a; b] of shape [2·C_z, C_z] (and [2·C_z] biases).
        pack = lambda a, b: torch.cat([a, b], dim=0)  # noqa: E731
        return ops.triangle_multiplicative_update(
            z, "outgoing" if m.outgoing else "incoming", mask=mask.to(z.dtype),
            norm_in_weight=m.layer_norm_in.weight, norm_in_bias=m.layer_norm_in.bias,
            p_in_weight=pack(m.linear_a_p.weight, m.linear_b_p.weight),
            p_in_bias=pack(m.linear_a_p.bias, m.linear_b_p.bias),
            g_in_weight=pack(m.linear_a_g.weight, m.linear_b_g.weight),
            g_in_bias=pack(m.linear_a_g.bias, m.linear_b_g.bias),
            norm_out_weight=m.layer_norm_out.weight, norm_out_bias=m.layer_norm_out.bias,
            p_out_weight=m.linear_z.weight, p_out_bias=m.linear_z.bias,
            g_out_weight=m.linear_g.weight, g_out_bias=m.linear_g.bias,
            eps=m.layer_norm_in.eps,
        )  # fmt: skip
