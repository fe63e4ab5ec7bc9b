"""The memory plan of a CPU fold: weights paged or held, rows per chunk, or a refusal (issue 24).

A CPU fold's peak resident memory is modelled as

    process base (interpreter, torch; measured when the engine is built)
    + resident weights (:meth:`remyfold.paging.WeightBytes.resident`: all mapped bytes once read,
      or, paged, the largest layer/block plus the mapped bytes outside them; plus held copies)
    + the largest phase of the activations (:func:`remyfold.model.memory.cpu_phase_bytes`; the
      language model's phase also holds the float32 upcast buffers of one of its layers).

:func:`plan_cpu_fold` tries, in order, weights held with the default chunk size, weights paged
with it, then ever smaller chunks (halving down to one row), within what the ``paging`` setting
allows, and returns the first that fits the budget (:class:`CpuFoldPlan`). When none does it
raises :class:`~remyfold.model.memory.MemoryBudgetError` naming the need, the budget and the
longest length that would fit (binary search over lengths at the most frugal settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from remyfold.model.memory import FoldDims, MemoryBudgetError, cpu_phase_bytes
from remyfold.paging import WeightBytes

GIB = 1024**3


@dataclass(frozen=True)
class CpuFoldPlan:
    """How one CPU fold runs: weights ``paged`` or held, ``rows`` per chunk (``None``: unchunked),
    and the peak resident bytes the memory model expects."""

    paged: bool
    rows: int | None
    expected_bytes: int


@dataclass(frozen=True)
class CpuMemoryModel:
    """Everything a CPU fold's peak resident memory depends on besides its shape.

    Attributes: dims: activation dimensions.  weights: where the weight bytes live.
        base: bytes of the process outside the weights.  lm_scratch: float32 upcast buffers of one
        language-model layer (0 when its weights are held in the dtype it computes in).
    """

    dims: FoldDims
    weights: WeightBytes
    base: int
    lm_scratch: int = 0

    def need(self, batch: int, length: int, rows: int | None, paged: bool) -> int:
        """Expected peak resident bytes of a fold of ``batch`` x ``length`` residues."""
        phases = cpu_phase_bytes(self.dims, batch, length, rows)
        phases["language model"] += self.lm_scratch
        return self.base + self.weights.resident(paged) + max(phases.values())


@dataclass(frozen=True)
class Budget:
    """The bytes a fold may keep resident, and where the number comes from (for messages)."""

    limit: int
    given: bool  # True: --max-memory; False: what the machine had available

    def describe(self) -> str:
        amount = _size(self.limit)
        return f"--max-memory {amount} allows" if self.given else f"the {amount} this machine has available allows"


def _size(nbytes: int) -> str:
    """``16.0 GiB``; below 1 GiB in MiB (``10 MiB``), so a small budget never reads as 0.0 GiB."""
    return f"{nbytes / GIB:.1f} GiB" if nbytes >= GIB else f"{nbytes / 2**20:.0f} MiB"


def plan_cpu_fold(memory: CpuMemoryModel, budget: Budget, batch: int, length: int, *, paging: str,
                  chunk_size: int | None, default_rows: int | None) -> CpuFoldPlan:  # fmt: skip
    """The first of (held, default rows), (paged, default rows), (smaller chunks...) that fits.

    ``paging``: ``auto`` (paged only when held does not fit), ``on`` or ``off``. ``chunk_size``:
    rows set by the user (then only that). ``default_rows``: the device's default chunk.

    Raises: MemoryBudgetError (one line: need, budget, the longest length that fits, what to do).
    """
    for paged, rows in _candidates(memory, length, paging, chunk_size, default_rows):
        need = memory.need(batch, length, rows, paged)
        if need <= budget.limit:
            return CpuFoldPlan(paged, rows, need)
    paged, rows = _frugal(memory, length, paging, chunk_size)
    need = memory.need(batch, length, rows, paged)
    fits = longest_fitting(memory, budget.limit, paging, chunk_size)
    what = f"a {length:,}-residue fold" if batch == 1 else f"a batch of {batch} x {length:,} residues"
    longest = f"the longest that fits is ~{fits:,} residues" if fits else "no fold fits"
    raise MemoryBudgetError(f"{what} needs ~{_size(need)}, more than {budget.describe()}; {longest}: "
                            "raise --max-memory or split the sequence")  # fmt: skip


def _pagings(memory: CpuMemoryModel, paging: str) -> list[bool]:
    if paging == "on":
        return [True]
    if paging == "off" or not memory.weights.pageable:
        return [False]
    return [False, True]


def _candidates(memory: CpuMemoryModel, length: int, paging: str, chunk_size: int | None,
                default_rows: int | None) -> list[tuple[bool, int | None]]:  # fmt: skip
    """(paged, rows) in order of preference: held before paged, larger chunks before smaller."""
    pagings = _pagings(memory, paging)
    if chunk_size is not None:
        return [(paged, chunk_size) for paged in pagings]
    rows = length if default_rows is None else default_rows
    out = [(paged, default_rows) for paged in pagings]
    while rows > 1:
        rows //= 2
        out.append((pagings[-1], max(rows, 1)))
    return out


def _frugal(memory: CpuMemoryModel, length: int, paging: str, chunk_size: int | None) -> tuple[bool, int]:
    """The settings allowed that need the least memory (paged if allowed; the set chunk or one row)."""
    return _pagings(memory, paging)[-1], chunk_size or 1


def longest_fitting(memory: CpuMemoryModel, limit: int, paging: str, chunk_size: int | None) -> int:
    """The longest single-sequence length whose fold fits in ``limit`` bytes (0: none), by bisection."""
    paged = _pagings(memory, paging)[-1]
    fits = lambda n: memory.need(1, n, chunk_size or 1, paged) <= limit  # noqa: E731
    if not fits(1):
        return 0
    low, high = 1, 2
    while fits(high) and high < 1 << 20:
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low


def fold_dims(model: nn.Module) -> FoldDims:
    """The activation dimensions of an :class:`~remyfold.model.ESMFold` network."""
    esm, trunk = model.config.esm, model.config.trunk
    return FoldDims(lm_layers=esm.num_layers, lm_hidden=esm.hidden_size, lm_heads=esm.num_heads,
                    lm_ffn=esm.intermediate_size, c_z=trunk.pairwise_state_dim, state_bytes=model.trunk.state_dtype.itemsize)  # fmt: skip


def lm_scratch_bytes(model: nn.Module) -> int:
    """float32 bytes of one language-model layer's 16-bit weights (the upcast buffers it shares)."""
    layer = model.esm.encoder["layer"][0]
    return sum(p.numel() * 4 for p in layer.parameters() if p.dtype.itemsize == 2)


def meminfo_bytes(field: str = "MemAvailable") -> int | None:
    """A field of ``/proc/meminfo`` in bytes (``None`` where there is none: not Linux)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def process_rss_bytes() -> int:
    """This process's resident bytes now (``VmRSS``; 0 where ``/proc`` is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0
