"""Optional fast kernels of the folding trunk, chosen once when a model is put on its device.

:class:`KernelOptions` says what to use; :func:`apply_kernels` attaches it to a built network and
returns a :class:`KernelChoice` saying what was attached. Every option is a drop-in with the
plain PyTorch layers as fallback and an equivalence test against them:

* ``triangle``: the triangular attention and multiplicative update through NVIDIA cuEquivariance
  (:mod:`remyfold.model.kernels_cuequivariance`). ``plain`` (default): our PyTorch layers.
  ``cuequivariance``: the fused kernels; needs a CUDA device; the first call raises
  :class:`~remyfold.model.kernels_cuequivariance.KernelUnavailableError` when they cannot load.
  ``auto``: the fused kernels on CUDA when the package is installed, the plain layers otherwise
  (and, with a one-line warning, when the installed package cannot load its CUDA libraries).
* ``compile_trunk``: ``torch.compile`` of each trunk block (one compiled graph shared by the
  blocks; the first fold of each new shape pays the compilation). CUDA graphs are not used.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from remyfold.model import kernels_cuequivariance
from remyfold.model.config import ConfigError
from remyfold.model.triangular_attention import TriangleAttention
from remyfold.model.triangular_multiplication import TriangleMultiplicativeUpdate

TRIANGLE_KERNELS = ("plain", "cuequivariance", "auto")


@dataclass(frozen=True)
class KernelOptions:
    """Which optional kernels to use (see the module docstring)."""

    triangle: str = "plain"
    compile_trunk: bool = False

    def __post_init__(self) -> None:
        if self.triangle not in TRIANGLE_KERNELS:
            raise ConfigError(f"triangle kernels {self.triangle!r} unknown; choose one of {', '.join(TRIANGLE_KERNELS)}")


@dataclass(frozen=True)
class KernelChoice:
    """What :func:`apply_kernels` attached: ``triangle`` is ``plain`` or ``cuequivariance``."""

    triangle: str
    compiled: bool
    kernel: object | None = None  # the loaded-on-first-call kernel object; its .status tells what ran

    @property
    def status(self) -> str:
        """One line: which triangle layers ran (after the first fold) and whether the trunk is compiled."""
        triangle = self.kernel.status if self.kernel is not None else "plain"
        return f"triangle {triangle}; trunk {'compiled' if self.compiled else 'eager'}"


def resolve_triangle(choice: str, device: torch.device) -> str:
    """``plain`` or ``cuequivariance`` for ``choice`` on ``device`` (``auto`` → fused on CUDA if installed)."""
    if choice == "auto":
        return "cuequivariance" if device.type == "cuda" and kernels_cuequivariance.is_installed() else "plain"
    if choice == "cuequivariance" and device.type != "cuda":
        raise ConfigError(f"triangle kernels cuequivariance need a CUDA device, not {device}; use plain or auto")
    return choice


def compile_trunk(model: nn.Module, backend: str = "inductor") -> None:
    """``torch.compile`` every trunk block in place (``nn.Module.compile``; ``backend`` for tests)."""
    for block in model.trunk.blocks:
        block.compile(backend=backend)


def apply_kernels(model: nn.Module, options: KernelOptions, device: torch.device) -> KernelChoice:
    """Attach the chosen kernels to ``model`` (an :class:`~remyfold.model.ESMFold`) for ``device``."""
    triangle = resolve_triangle(options.triangle, device)
    kernel = None
    if triangle == "cuequivariance":
        kernel = kernels_cuequivariance.CuEquivarianceTriangleKernels(fallback=options.triangle == "auto")
    for module in model.modules():
        if isinstance(module, (TriangleAttention, TriangleMultiplicativeUpdate)):
            module.kernel = kernel
    if options.compile_trunk:
        compile_trunk(model)
    return KernelChoice(triangle=triangle, compiled=options.compile_trunk, kernel=kernel)
