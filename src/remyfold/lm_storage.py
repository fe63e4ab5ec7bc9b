"""Language-model weights held in 16 bits, arithmetic in fp32.

ESM-2 holds 2.8 of ESMFold's 3.5 billion parameters. Held in float16 they take 5.7 GB instead
of 11.3 GB, so the whole esmfold_v1 network needs 8.4 GB rather than 14.1 GB. Each 16-bit
parameter gets a parametrization (:mod:`torch.nn.utils.parametrize`) that returns it upcast to
float32 whenever its module reads it, so every matmul, LayerNorm and softmax still runs in fp32;
the upcast lands in a float32 buffer shared by all parameters of the same name and shape (about
0.24 GB for ESM-2 3B), so no full float32 copy of the language model ever exists.

* :func:`compute_in_fp32` — the default (``fp32``) for a checkpoint that stores the language model
  in 16 bits, as the published esmfold_v1 does: fp16 → fp32 is exact, so this is the fp32 function
  of the weights as published, at 8.4 GB instead of 14.1 GB and with no conversion at load.
* :func:`hold_in_half` — the ``fp32-lm16`` mode: also rounds fp32-stored language-model weights to
  float16 once, at load (the only source of its drift; measured in the README).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

#: Dtype in which ``fp32-lm16`` holds the language model's weights.
LM_STORAGE_DTYPE = torch.float16


class Upcast(nn.Module):
    """Parametrization: the stored (16-bit) tensor, read as float32 into a reused buffer.

    Parameters with the same name and shape (``weight`` of every ``[2560, 2560]`` projection, ...)
    share one float32 buffer (``scratch``): a layer reads its weight, uses it and is done before the
    next layer reads its own, so one buffer per (name, shape) holds every upcast — a few hundred MB
    for ESM-2 3B instead of a new allocation per weight per fold, which fragments the C heap
    (:mod:`remyfold.allocator`) and faults in fresh pages. Inference only (no autograd through the
    buffer), and one forward at a time per network.
    """

    def __init__(self, scratch: dict, key: tuple):
        super().__init__()
        self.scratch, self.key = scratch, key

    def forward(self, stored: torch.Tensor) -> torch.Tensor:
        buffer = self.scratch.get(self.key)
        if buffer is None or buffer.device != stored.device:
            buffer = self.scratch[self.key] = torch.empty(stored.shape, dtype=torch.float32, device=stored.device)
        return buffer.copy_(stored)


def release_upcast_buffers(module: nn.Module) -> None:
    """Free the float32 buffers that the upcasts of ``module`` share; the next read makes them again.

    Called after each language-model forward (:class:`remyfold.api.Folder`), so that the buffers
    (0.24 GB for ESM-2 3B) are not held while the folding trunk's activations peak.
    """
    for sub in module.modules():
        if isinstance(sub, Upcast):
            sub.scratch.clear()


def compute_in_fp32(module: nn.Module) -> nn.Module:
    """Read every 16-bit floating-point parameter of ``module`` as float32 (no copy kept). Idempotent."""
    scratch: dict = {}
    for sub in list(module.modules()):
        for name, param in list(sub.named_parameters(recurse=False)):
            if param.dtype in (torch.float16, torch.bfloat16) and not parametrize.is_parametrized(sub, name):
                key = (name, tuple(param.shape))
                parametrize.register_parametrization(sub, name, Upcast(scratch, key), unsafe=True)
    return module


def hold_in_half(module: nn.Module, dtype: torch.dtype = LM_STORAGE_DTYPE) -> nn.Module:
    """Store every floating-point parameter of ``module`` in ``dtype`` and read it back as float32.

    Idempotent; parameters already 16-bit are not copied. Returns ``module``.
    """
    for sub in list(module.modules()):
        for name, param in list(sub.named_parameters(recurse=False)):
            if param.dtype == torch.float32 and not parametrize.is_parametrized(sub, name):
                sub._parameters[name] = nn.Parameter(param.detach().to(dtype), requires_grad=False)
    return compute_in_fp32(module)


def stored_dtypes(module: nn.Module) -> set[torch.dtype]:
    """Dtypes in which ``module``'s parameters are held (the originals under any parametrization)."""
    return {p.dtype for name, p in module.named_parameters() if p.is_floating_point()}


def drop_upcast(module: nn.Module) -> nn.Module:
    """Undo :func:`compute_in_fp32`: parameters become their stored tensors again."""
    for sub in list(module.modules()):
        if parametrize.is_parametrized(sub):
            for name in list(sub.parametrizations):
                parametrize.remove_parametrizations(sub, name, leave_parametrized=False)
    return module
