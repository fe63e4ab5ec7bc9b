"""Weights paged, not held: each layer's mapped pages go back to the kernel once it has run (issue 24).

The checkpoint is mapped (:mod:`remyfold.mapped`) and the weights kept in their stored dtype are
views of the mapping, so reading a weight faults its pages in from the page cache (or the disk),
and they then stay resident in the process. The language model's layers and the trunk's blocks
run one after another (:meth:`remyfold.model.ESMFold.layer_stacks`): a layer's weights are not
read again until the next fold (ESM-2) or the next recycling pass (trunk). Algorithm:

* at construction, for each such *unit*, the byte ranges of its parameters and buffers that are
  views of a mapped file are collected, adjacent ranges merged (:func:`_merged`); converted copies
  (a bfloat16 or fp32-held language model, ``.bin`` checkpoints, a network built in memory) are
  counted as held, never paged (:class:`WeightBytes`);
* with ``prefetch`` (off by default), a forward pre-hook on unit ``i`` asks the kernel to read unit
  ``i+1``'s pages ahead (``madvise(MADV_WILLNEED)``). Measured on 2 cores it slowed folds with the
  page cache warm and cold alike (bench/results/cpu-paged-prefetch.md, cpu-cold-prefetch.md), so
  it is kept only for benchmarking other machines;
* a forward hook on unit ``i`` hands its whole pages back (``madvise(MADV_DONTNEED)``). The mapping
  is private and never written, so the next read faults the same bytes in again from the file
  (from the page cache while the kernel keeps it, else from the disk). A page shared with a
  neighbouring unit's tensor (ranges are not page-aligned) is kept: only whole pages inside a
  merged range are released.

Resident weights are then the largest unit plus the mapped bytes outside the units (embeddings,
structure module, heads) plus the held copies. Where ``madvise(MADV_DONTNEED)`` does not exist
(Windows) nothing is pageable and :class:`WeightBytes` says why.
"""

from __future__ import annotations

import contextlib
import mmap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from remyfold.mapped import MappedFile

# Why nothing is pageable when the checkpoint is mapped but no layer's weights are views of it.
UNMAPPED = "no layer's weights are mapped: the chosen precision holds converted copies in memory"
# A unit's mapped byte ranges: (file, begin, end), begin/end offsets into the file.
Ranges = list[tuple[MappedFile, int, int]]


@dataclass(frozen=True)
class WeightBytes:
    """Where the network's weight bytes live, in bytes.

    Attributes:
        units: mapped bytes of the layers and blocks that run one at a time (pageable), summed.
        largest_unit: mapped bytes of the largest such unit.
        mapped_other: mapped bytes outside the units (embeddings, structure module, heads):
            resident once read.
        held: bytes in the process's own memory (converted copies, ``.bin`` or in-memory weights).
        pageable: whether the units' pages can be handed back; ``reason``: why not, if not.
    """

    units: int
    largest_unit: int
    mapped_other: int
    held: int
    pageable: bool
    reason: str = ""

    def resident(self, paged: bool) -> int:
        """Weight bytes resident at a fold's peak: all of them, or (paged) one unit of the units."""
        return (self.largest_unit if paged else self.units) + self.mapped_other + self.held


def paging_unsupported_reason(files: list[MappedFile]) -> str:
    """Why weights cannot be paged here ("" when they can)."""
    if not hasattr(mmap, "MADV_DONTNEED"):
        return "this system has no madvise(MADV_DONTNEED)"
    if not files:
        return "the weights are not a mapped safetensors checkpoint"
    return ""


class WeightPager:
    """Hands each unit's mapped weight pages back after its forward, while :attr:`active`.

    Built once per network (:class:`remyfold.api.Folder`); its hooks stay registered and do
    nothing while inactive (:meth:`paging`).
    """

    def __init__(self, model: nn.Module, files: list[MappedFile], prefetch: bool = False):
        self._bases = [(mapped, mapped.address(), mapped.size) for mapped in files]
        units = [unit for stack in model.layer_stacks() for unit in stack]
        self.unit_ranges = [_merged(self._ranges(_tensors(unit))) for unit in units]
        unit_ids = {id(t) for unit in units for t in _tensors(unit)}
        other = [t for t in _tensors(model) if id(t) not in unit_ids]
        other_mapped = sum(end - begin for _, begin, end in _merged(self._ranges(other)))
        sizes = [sum(end - begin for _, begin, end in ranges) for ranges in self.unit_ranges]
        total = sum(_nbytes(t) for t in _tensors(model))
        reason = paging_unsupported_reason(files)
        self.bytes = WeightBytes(units=sum(sizes), largest_unit=max(sizes, default=0), mapped_other=other_mapped,
                                 held=total - sum(sizes) - other_mapped, pageable=not reason and sum(sizes) > 0,
                                 reason=reason or ("" if sum(sizes) else UNMAPPED))  # fmt: skip
        self.active, self.prefetch = False, prefetch
        if self.bytes.pageable:
            for i, unit in enumerate(units):
                following = self.unit_ranges[i + 1] if i + 1 < len(units) else []
                unit.register_forward_pre_hook(lambda *_, ranges=following: self._advise(ranges, "MADV_WILLNEED"))
                unit.register_forward_hook(lambda *_, ranges=self.unit_ranges[i]: self._advise(ranges, "MADV_DONTNEED"))

    @contextlib.contextmanager
    def paging(self, on: bool) -> Iterator[None]:
        """Within the block, page the units' weights (``on``) or leave them resident."""
        if on and not self.bytes.pageable:
            raise ValueError(f"weights cannot be paged: {self.bytes.reason}")
        before, self.active = self.active, on
        try:
            yield
        finally:
            self.active = before

    def _advise(self, ranges: Ranges, advice: str) -> None:
        if self.active and (advice == "MADV_DONTNEED" or self.prefetch) and hasattr(mmap, advice):
            _advise_ranges(ranges, getattr(mmap, advice))

    def _ranges(self, tensors: list[torch.Tensor]) -> Ranges:
        """The byte ranges of the ``tensors`` that are views of a mapped file (others: none)."""
        found = []
        for tensor in tensors:
            start, size = tensor.untyped_storage().data_ptr(), _nbytes(tensor)
            for mapped, base, length in self._bases:
                if base <= start < base + length:
                    found.append((mapped, start - base, start - base + size))
        return found


def _advise_ranges(ranges: Ranges, advice: int) -> None:
    for mapped, begin, end in ranges:
        mapped.advise(advice, begin, end)


def _tensors(module: nn.Module) -> list[torch.Tensor]:
    """Every parameter and buffer of ``module`` (parametrized originals included), each once."""
    seen, out = set(), []
    for tensor in [*module.parameters(), *module.buffers()]:
        if id(tensor) not in seen and not tensor.is_meta and tensor.device.type == "cpu":
            seen.add(id(tensor))
            out.append(tensor)
    return out


def _nbytes(tensor: torch.Tensor) -> int:
    return tensor.untyped_storage().nbytes()


def _merged(ranges: Ranges) -> Ranges:
    """Ranges of the same file that touch or overlap merged into one (sorted by file and start)."""
    out: Ranges = []
    for mapped, begin, end in sorted(ranges, key=lambda r: (id(r[0]), r[1])):
        if out and out[-1][0] is mapped and begin <= out[-1][2]:
            out[-1] = (mapped, out[-1][1], max(end, out[-1][2]))
        else:
            out.append((mapped, begin, end))
    return out


def mapped_resident_bytes(files: list[MappedFile]) -> int:
    """Bytes of the ``files``' mappings resident in this process now (``Rss`` of ``/proc/self/smaps``; 0 without it)."""
    spans = [(mapped.address(), mapped.address() + mapped.size) for mapped in files]
    total, current = 0, None
    try:
        lines = Path("/proc/self/smaps").read_text().splitlines()
    except OSError:  # not Linux: unknown, counted as none
        return 0
    for line in lines:
        head = line.split(maxsplit=1)[0] if line else ""
        if "-" in head and ":" not in head:  # a mapping's header line: "start-end perms ..."
            start, end = (int(x, 16) for x in head.split("-"))
            current = any(lo <= start < hi for lo, hi in spans)
        elif current and head == "Rss:":
            total += int(line.split()[1]) * 1024
    return total
