"""Checkpoint tensors mapped from their files, not copied: the no-copy half of loading.

A safetensors file is an 8-byte little-endian header length, a JSON header giving each
tensor's ``dtype``, ``shape`` and byte range (``data_offsets``, relative to the end of the
header), then the raw little-endian bytes. :class:`MappedFile` maps the whole file with
``mmap`` (private, copy-on-write: nothing is ever written back) and hands out tensors that are
views of the mapping (:func:`torch.frombuffer`), so a tensor kept in the model's dtype costs no
second copy — its pages are the page cache's. A tensor that must change dtype (e.g. the float16
language model held in float32) is converted into a new buffer, and :meth:`MappedFile.release`
then drops the source pages from the process (``madvise(MADV_DONTNEED)``), so the peak resident
memory of a load stays near the size of the weights as held in memory.

PyTorch ``.bin`` checkpoints (zip format) are mapped by ``torch.load(mmap=True)``; their pages
cannot be released one tensor at a time.
"""

from __future__ import annotations

import ctypes
import json
import mmap
import struct
from pathlib import Path

import torch

from remyfold.errors import WeightsError

_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool,
}  # fmt: skip
_MAX_HEADER = 100 * 1024 * 1024


class MappedFile:
    """One safetensors file mapped into memory.

    Attributes:
        path: the file.  entries: ``{name: (dtype, shape, start, end)}`` with absolute byte offsets.
    """

    def __init__(self, path: Path):
        self.path = path
        with path.open("rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY)
        self.entries = self._read_header()
        self._address: int | None = None

    def _read_header(self) -> dict[str, tuple[torch.dtype, list[int], int, int]]:
        """Parse and check the JSON header (dtypes known, byte ranges inside the file and of the right size)."""
        size = len(self._map)
        if size < 8:
            raise ValueError("file shorter than its 8-byte header length")
        (length,) = struct.unpack("<Q", self._map[:8])
        if length > min(_MAX_HEADER, size - 8):
            raise ValueError(f"header length {length} is larger than the file")
        header = json.loads(bytes(self._map[8 : 8 + length]))
        header.pop("__metadata__", None)
        entries = {}
        for name, info in header.items():
            dtype = _DTYPES.get(info["dtype"])
            if dtype is None:
                raise ValueError(f"tensor {name} has unsupported dtype {info['dtype']}")
            begin, end = (8 + length + offset for offset in info["data_offsets"])
            numel = 1
            for dim in info["shape"]:
                numel *= dim
            if end > size or end - begin != numel * dtype.itemsize:
                raise ValueError(f"tensor {name}: byte range {info['data_offsets']} does not fit its shape or the file")
            entries[name] = (dtype, list(info["shape"]), begin, end)
        return entries

    def tensor(self, name: str) -> torch.Tensor:
        """The tensor ``name`` as a view of the mapping (no copy)."""
        dtype, shape, begin, end = self.entries[name]
        if end == begin:
            return torch.empty(shape, dtype=dtype)
        flat = torch.frombuffer(self._map, dtype=dtype, count=(end - begin) // dtype.itemsize, offset=begin)
        return flat.view(shape)

    def release(self, name: str) -> None:
        """Drop the pages lying wholly inside tensor ``name`` from this process (call once it is converted)."""
        _, _, begin, end = self.entries[name]
        if hasattr(mmap, "MADV_DONTNEED"):  # not on Windows: the pages then stay until unmapped
            self.advise(mmap.MADV_DONTNEED, begin, end)

    def advise(self, advice: int, begin: int, end: int) -> None:
        """``madvise(advice)`` on the whole pages inside bytes ``[begin, end)`` of the file (none: nothing)."""
        page = mmap.PAGESIZE
        first, last = -(-begin // page) * page, end // page * page
        if last > first:
            self._map.madvise(advice, first, last - first)

    @property
    def size(self) -> int:
        """Bytes of the file (and of the mapping)."""
        return len(self._map)

    def address(self) -> int:
        """Virtual address of the mapping's first byte (to tell which tensors are views of it)."""
        if self._address is None:
            self._address = ctypes.addressof(ctypes.c_char.from_buffer(self._map))
        return self._address


def map_checkpoint(paths: list[Path]) -> tuple[dict[str, torch.Tensor], list[MappedFile]]:
    """Every tensor of the checkpoint files ``paths``, mapped (safetensors) or ``mmap``-loaded (``.bin``).

    Returns the tensors by checkpoint name and the mapped safetensors files (for :meth:`MappedFile.release`).

    Raises:
        WeightsError: a file is unreadable, truncated or corrupt (one line, naming it).
    """
    state: dict[str, torch.Tensor] = {}
    files: list[MappedFile] = []
    for path in paths:
        try:
            if path.suffix == ".safetensors":
                mapped = MappedFile(path)
                files.append(mapped)
                state.update({name: mapped.tensor(name) for name in mapped.entries})
            else:
                state.update(torch.load(path, map_location="cpu", weights_only=True, mmap=True))
        except Exception as err:  # corrupt or truncated file: report, don't trace back
            raise WeightsError(f"cannot read {path} ({type(err).__name__}: {err}); re-download it") from None
    return state, files


def release_source(files: list[MappedFile], name: str) -> None:
    """Release checkpoint tensor ``name``'s pages in whichever mapped file holds it."""
    for mapped in files:
        if name in mapped.entries:
            mapped.release(name)
