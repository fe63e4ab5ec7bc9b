"""Timing, memory and environment helpers of the benchmark (no model code here).

* :func:`measure`: warm-up, then best wall time of ``repeats`` runs with the device synchronised,
  and the peak of ``torch.cuda.max_memory_allocated`` (reset per run; ``None`` on the CPU).
* :func:`matmul_rates`: the card's dense matmul rate per dtype (TFLOP/s), the FLOP floor's denominator.
* :class:`Budget`: skips a measurement predicted (from the seconds per FLOP seen so far) to end past
  the deadline, so a run fits a fixed time slot.
* :func:`environment`: device, driver, library versions, commit and date for the report.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
GIB = 1024**3
MATMUL_DTYPES = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def release(device: torch.device) -> None:
    """Free Python garbage and, on CUDA, the allocator's cached blocks."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def is_oom(err: BaseException) -> bool:
    return isinstance(err, torch.cuda.OutOfMemoryError) or "out of memory" in str(err).lower()


def measure(run: Callable[[], object], warmup: Callable[[], object] | None, device: torch.device, repeats: int):
    """Best-of-``repeats`` seconds, peak GiB over the timed runs (``None`` on CPU) and the last output."""
    if warmup is not None:
        warmup()
    best, peak, output = float("inf"), 0.0, None
    for _ in range(repeats):
        output = None  # drop the previous outputs before the next run
        release(device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        synchronize(device)
        start = time.perf_counter()
        output = run()
        synchronize(device)
        best = min(best, time.perf_counter() - start)
        if device.type == "cuda":
            peak = max(peak, torch.cuda.max_memory_allocated(device) / GIB)
    return best, (peak if device.type == "cuda" else None), output


@contextlib.contextmanager
def tf32(enabled: bool):
    """Allow TF32 matmuls inside the block (the reference's documented GPU setup); restore afterwards."""
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


def rate_key(precision: str) -> str:
    """Which measured matmul rate bounds a remyfold precision mode (by the dtype its name carries)."""
    return next((key for key in ("bf16", "fp16", "tf32") if key in precision), "fp32")


def matmul_tflops(device: torch.device, key: str) -> float:
    """Dense square matmul rate for ``key`` (fp32/tf32/bf16/fp16): 8192² on CUDA, 512² on CPU."""
    n, iters = (8192, 20) if device.type == "cuda" else (512, 5)
    a = torch.randn(n, n, device=device, dtype=MATMUL_DTYPES[key])
    b = torch.randn(n, n, device=device, dtype=MATMUL_DTYPES[key])
    with tf32(key == "tf32"):
        a @ b
        synchronize(device)
        start = time.perf_counter()
        for _ in range(iters):
            a @ b
        synchronize(device)
        seconds = time.perf_counter() - start
    return 2 * n**3 * iters / seconds / 1e12


def matmul_rates(device: torch.device, keys: set[str]) -> dict[str, float]:
    """Rates (TFLOP/s) for fp32 and ``keys``; half precision is skipped on the CPU (not a fast path there)."""
    wanted = {"fp32"} | set(keys)
    if device.type == "cpu":
        wanted -= {"fp16", "tf32"}
    return {key: round(matmul_tflops(device, key), 3) for key in sorted(wanted)}


class Budget:
    """Wall-clock budget of a run (``deadline`` seconds from now; 0 = unlimited)."""

    def __init__(self, deadline: float):
        self.start = time.monotonic()
        self.deadline = deadline
        self.largest: dict[str, tuple[int, float]] = {}

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def allows(self, key: str, work: int, runs: float) -> bool:
        """Whether ``runs`` runs of ``work`` (FLOPs, or another work unit) of ``key`` should end before the deadline.

        The time is extrapolated linearly from the largest run of ``key`` so far (small runs are
        overhead-bound and would overestimate); a key not seen yet is always allowed.
        """
        if not self.deadline:
            return True
        done_work, done_seconds = self.largest.get(key, (1, 0.0))
        return self.elapsed() + done_seconds * work / done_work * runs < self.deadline

    def record(self, key: str, work: int, seconds: float) -> None:
        """Remember the run of ``key`` with the most work."""
        if work >= self.largest.get(key, (0, 0.0))[0]:
            self.largest[key] = (max(work, 1), seconds)


def _command(args: list[str]) -> str | None:
    """First line of a command's output, or ``None`` when it is missing or fails."""
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=30, cwd=ROOT, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.strip().splitlines()
    return lines[0].strip() if lines else ""


def environment(device: torch.device) -> dict:
    """Device, driver, versions, commit (with a dirty flag) and UTC date of this run."""
    import transformers

    import remyfold

    cuda = device.type == "cuda"
    status = _command(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if cuda else (platform.processor() or platform.machine()),
        "driver": _command(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]) if cuda else None,
        "cuda": torch.version.cuda,
        "cpu_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "remyfold": remyfold.__version__,
        "commit": _command(["git", "rev-parse", "HEAD"]),
        "dirty": bool(status) if status is not None else None,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
