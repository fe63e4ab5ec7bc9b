"""The page cache's view of a checkpoint file: how much of it is cached, and evicting it (Linux).

* :func:`cached_fraction`: ``mincore(2)`` on a fresh private mapping of the file (which faults
  nothing in): the fraction of the file's pages that the kernel has in memory now, whichever
  process read them.
* :func:`evict`: ``posix_fadvise(POSIX_FADV_DONTNEED)`` on the whole file: the kernel drops its
  clean cached pages that no process has mapped (pages mapped and resident somewhere stay), so the
  next read comes from the disk — a cold-cache fold.
"""

from __future__ import annotations

import ctypes
import mmap
import os
from pathlib import Path


def cached_fraction(path: Path) -> float | None:
    """Fraction of ``path``'s pages in the page cache (``None`` where ``mincore`` is unavailable)."""
    size = path.stat().st_size
    if size == 0:
        return 1.0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        mincore = libc.mincore
    except (OSError, AttributeError):
        return None
    mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_ubyte)]
    pages = -(-size // mmap.PAGESIZE)
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY) as mapping:
        address = ctypes.c_char.from_buffer(mapping)
        vector = (ctypes.c_ubyte * pages)()
        failed = mincore(ctypes.addressof(address), size, vector)
        del address  # release the buffer export before the mapping closes
    if failed:
        return None
    return sum(v & 1 for v in vector) / pages


def evict(path: Path) -> bool:
    """Ask the kernel to drop ``path``'s cached pages; ``False`` where ``posix_fadvise`` is missing."""
    if not hasattr(os, "posix_fadvise"):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return True
