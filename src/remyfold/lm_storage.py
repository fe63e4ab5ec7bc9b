"""Language-model weights held in 16 bits, arithmetic in fp32 (the ``fp32-lm16`` precision).

ESM-2 holds 2.8 of ESMFold's 3.5 billion parameters. Held in float16 they take 5.7 GB instead
of 11.3 GB, so the whole esmfold_v1 network needs 8.4 GB rather than 14.1 GB. Each parameter
of the language model gets a parametrization (:mod:`torch.nn.utils.parametrize`) that
returns it upcast to float32 whenever the module reads it, so every matmul, LayerNorm and
softmax still runs in fp32; the upcast copy of one layer's weight lives only while that layer
runs. The published checkpoint stores the language model in float16 already, so for it this
mode computes exactly the fp32 function (fp16 → fp32 is exact); a checkpoint with fp32
language-model weights is rounded to fp16 once, at load (drift in the README).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

#: Dtype in which ``fp32-lm16`` holds the language model's weights.
LM_STORAGE_DTYPE = torch.float16


class Upcast(nn.Module):
    """Parametrization: the stored (16-bit) tensor, read as float32."""

    def forward(self, stored: torch.Tensor) -> torch.Tensor:
        return stored.float()


def hold_in_half(module: nn.Module, dtype: torch.dtype = LM_STORAGE_DTYPE) -> nn.Module:
    """Store every floating-point parameter of ``module`` in ``dtype`` and read it back as float32.

    Idempotent; parameters already in ``dtype`` are not copied. Returns ``module``.
    """
    for sub in list(module.modules()):
        for name, param in list(sub.named_parameters(recurse=False)):
            if not param.is_floating_point() or parametrize.is_parametrized(sub, name):
                continue
            if param.dtype != dtype:
                sub._parameters[name] = nn.Parameter(param.detach().to(dtype), requires_grad=False)
            parametrize.register_parametrization(sub, name, Upcast(), unsafe=True)
    return module


def is_held_in_half(module: nn.Module) -> bool:
    """Whether :func:`hold_in_half` has been applied to ``module``'s parameters."""
    return any(parametrize.is_parametrized(sub) for sub in module.modules())
