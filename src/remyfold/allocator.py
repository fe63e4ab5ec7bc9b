"""The C heap's policy for the CPU path: keep freed memory and hand it out again.

A trunk block on the CPU allocates and frees tensors of tens to hundreds of megabytes hundreds of
times per trunk pass. glibc's ``malloc`` serves every allocation above its mmap threshold (at most
32 MB) with a fresh ``mmap`` and returns it with ``munmap`` when freed, so each such tensor starts
as untouched pages: the kernel faults in and zeroes every 4 KiB page on first write. On a 2-core
machine that page-fault work took more time than the arithmetic (one full-size trunk block at
256 residues: 2.9 s with glibc's defaults, 1.2 s with the policy below, the same numbers out).

:func:`keep_freed_memory` sets glibc's ``M_MMAP_MAX`` to 0 (large blocks come from the heap too)
and ``M_TRIM_THRESHOLD`` to the largest value (freed memory stays with the process), through
``mallopt(3)``; freed blocks are then reused already faulted in. Kept memory left over from one
stage would add to the next one's peak (the language model's upcast weights to the trunk's pair
state: +0.8 GiB at 400 residues), so :func:`release_free_memory` (``malloc_trim(3)``) hands the
free memory back between stages: after the language model and after each fold. It changes no
result. It is process-wide, so :class:`remyfold.api.Folder` applies it
once when it is built for the CPU (``KernelOptions(cpu_allocator="system")`` leaves glibc's
defaults alone); on a C library other than glibc it does nothing and says so in its return value.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

#: ``mallopt`` parameter numbers from glibc's ``<malloc.h>``.
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
#: Largest ``M_TRIM_THRESHOLD`` ``mallopt`` takes (an ``int``): never give the heap's top back.
NEVER_TRIM = 2**31 - 1


def _glibc() -> ctypes.CDLL | None:
    """glibc, when this process runs on it."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def keep_freed_memory() -> str:
    """Make glibc reuse freed memory instead of unmapping it; returns what is in effect.

    ``"reuse"`` when the policy is set (idempotent), ``"system"`` where the C library is not glibc
    or refuses the settings (nothing changed then).
    """
    libc = _glibc()
    if libc is None:
        return "system"
    done = libc.mallopt(M_MMAP_MAX, 0) == 1 and libc.mallopt(M_TRIM_THRESHOLD, NEVER_TRIM) == 1
    return "reuse" if done else "system"


def release_free_memory() -> None:
    """Return the heap's free memory to the system (glibc ``malloc_trim(0)``); nothing elsewhere."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def choose_allocator(choice: str, device_type: str) -> str:
    """Apply ``choice`` (``"reuse"`` or ``"system"``) for a model on ``device_type``; return what it did.

    Only the CPU path allocates its tensors from the C heap; on other devices, and for ``"system"``,
    nothing is changed (a policy set earlier in the process stays: it cannot be taken back).
    """
    if device_type != "cpu" or choice == "system":
        return "system"
    return keep_freed_memory()
