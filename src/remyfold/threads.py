"""How many CPU threads torch uses: by default, the cores this process may run on.

``os.sched_getaffinity(0)`` counts the cores the process is allowed (a container's or
``taskset``'s limit), unlike ``os.cpu_count()`` and torch's own default, which count the
machine's. :func:`use_threads` hands the number to torch (intra-op parallelism, process-wide)
and returns it, so callers can record it.
"""

from __future__ import annotations

import os

from remyfold.errors import InputError


def available_cores() -> int:
    """Cores this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # platforms without affinity
        return max(1, os.cpu_count() or 1)


def use_threads(threads: int | None = None) -> int:
    """Set torch's intra-op thread count to ``threads`` (``None``: :func:`available_cores`); return it."""
    import torch

    count = available_cores() if threads is None else threads
    if not isinstance(count, int) or count < 1:
        raise InputError(f"--threads {threads}: must be a positive number of threads")
    torch.set_num_threads(count)
    return count
