"""Optional fast kernels of the folding trunk, chosen once when a model is put on its device.

:class:`KernelOptions` says what to use; :func:`apply_kernels` attaches it to a built network and
returns a :class:`KernelChoice` saying what was attached. Every option is a drop-in with the
plain PyTorch layers as fallback and an equivalence test against them:

* ``triangle``: how the triangular attention and multiplicative update run. ``plain``: our
  PyTorch layers as written (the reference). ``blocked``: the same arithmetic laid out for CPU
  caches (:mod:`remyfold.model.kernels_blocked`). ``cuequivariance``: NVIDIA cuEquivariance's
  fused kernels (:mod:`remyfold.model.kernels_cuequivariance`); needs a CUDA device; the first
  call raises :class:`~remyfold.model.kernels_cuequivariance.KernelUnavailableError` when they
  cannot load. ``auto`` (default): ``blocked`` on the CPU; on CUDA the fused kernels when the
  package is installed, the plain layers otherwise (and, with a one-line warning, when the
  installed package cannot load its CUDA libraries).
* ``cpu_allocator``: ``reuse`` (default) keeps freed memory in the C heap for reuse on the CPU,
  ``system`` leaves glibc's defaults (applied by :class:`remyfold.api.Folder`; see
  :mod:`remyfold.allocator`, which is process-wide and so lives above the model).
* ``compile_trunk``: ``torch.compile`` of each trunk block (one compiled graph shared by the
  blocks; the first fold of each new shape pays the compilation). CUDA graphs are not used.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from remyfold.model import kernels_cuequivariance
from remyfold.model.kernels_blocked import CACHE_BLOCK_BYTES, BlockedTriangleKernels
from remyfold.model.config import ConfigError
from remyfold.model.triangular_attention import TriangleAttention
from remyfold.model.triangular_multiplication import TriangleMultiplicativeUpdate
from remyfold.model.trunk_block import TrunkBlock

TRIANGLE_KERNELS = ("plain", "blocked", "cuequivariance", "auto")
CPU_ALLOCATORS = ("reuse", "system")


@dataclass(frozen=True)
class KernelOptions:
    """Which optional kernels to use (see the module docstring)."""

    triangle: str = "auto"
    compile_trunk: bool = False
    cpu_allocator: str = "reuse"

    def __post_init__(self) -> None:
        if self.triangle not in TRIANGLE_KERNELS:
            raise ConfigError(f"triangle kernels {self.triangle!r} unknown; choose one of {', '.join(TRIANGLE_KERNELS)}")
        if self.cpu_allocator not in CPU_ALLOCATORS:
            raise ConfigError(f"cpu allocator {self.cpu_allocator!r} unknown; choose one of {', '.join(CPU_ALLOCATORS)}")


@dataclass(frozen=True)
class KernelChoice:
    """What :func:`apply_kernels` attached: ``triangle`` is ``plain``, ``blocked`` or ``cuequivariance``."""

    triangle: str
    compiled: bool
    kernel: object | None = None  # the loaded-on-first-call kernel object; its .status tells what ran

    @property
    def status(self) -> str:
        """One line: which triangle layers ran (after the first fold) and whether the trunk is compiled."""
        triangle = self.kernel.status if self.kernel is not None else "plain"
        return f"triangle {triangle}; trunk {'compiled' if self.compiled else 'eager'}"


def resolve_triangle(choice: str, device: torch.device) -> str:
    """``plain``, ``blocked`` or ``cuequivariance`` for ``choice`` on ``device``.

    ``auto``: ``blocked`` on the CPU (measured faster there: bench/results/cpu-full.md), the fused
    kernels on CUDA when installed, else ``plain``.
    """
    if choice == "auto":
        if device.type == "cpu":
            return "blocked"
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
    elif triangle == "blocked":
        kernel = BlockedTriangleKernels()
    for module in model.modules():
        if isinstance(module, (TriangleAttention, TriangleMultiplicativeUpdate)):
            module.kernel = kernel
        elif isinstance(module, TrunkBlock):
            module.block_for_cache(CACHE_BLOCK_BYTES if triangle == "blocked" else None)
    if options.compile_trunk:
        compile_trunk(model)
    return KernelChoice(triangle=triangle, compiled=options.compile_trunk, kernel=kernel)
