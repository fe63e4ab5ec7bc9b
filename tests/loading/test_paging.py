"""Weights paged, not held (issue 24): identical outputs, pages really handed back, never a crash."""

from __future__ import annotations

import mmap
import sys

import numpy as np
import pytest
import torch

from remyfold.api import Folder
from remyfold.errors import InputError
from remyfold.loading import load_mapped_model
from remyfold.mapped import MappedFile
from remyfold.paging import WeightPager, _merged, mapped_resident_bytes

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not hasattr(mmap, "MADV_DONTNEED"),
    reason="paging and /proc/self/smaps are Linux features",
)
CPU = torch.device("cpu")
SEQUENCE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ"


def folder_for(weights_dir, paging: str) -> tuple[Folder, list]:
    """A CPU folder on the mapped checkpoint, with its mapped files."""
    model, files = load_mapped_model(weights_dir)
    return Folder(model, device=CPU, paging=paging, mapped_files=files, max_memory=64 << 30), files


def same(a, b) -> bool:
    """Bitwise-identical structure, pLDDT and PAE."""
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("positions", "plddt", "pae")) and a.ptm == b.ptm


def test_paged_folds_are_bitwise_identical_and_release_the_pages(tiny_weights_dir):
    held, held_files = folder_for(tiny_weights_dir, "off")
    [expected] = held.fold_batch([("x", SEQUENCE)], num_recycles=1)
    resident_held = mapped_resident_bytes(held_files)
    paged, files = folder_for(tiny_weights_dir, "on")
    assert paged.pager.bytes.pageable
    [first] = paged.fold_batch([("x", SEQUENCE)], num_recycles=1)
    resident_paged = mapped_resident_bytes(files)
    [second] = paged.fold_batch([("x", SEQUENCE)], num_recycles=1)  # pages read back in from the file
    assert same(first, expected) and same(second, expected)
    weights = paged.pager.bytes
    # Held: every page of every weight stays; paged: the units' pages are gone, one unit's worth may stay.
    assert resident_held >= weights.units + weights.mapped_other
    assert resident_paged <= resident_held - weights.units + weights.largest_unit + 64 * mmap.PAGESIZE
    # ...and that bound is far below the held residency (the units hold most pages even in the tiny
    # model), so a pager that released nothing would fail it. (Not a ratio of the two residencies:
    # the kernel may reclaim held pages of this small mapping between folds.)
    assert weights.units - weights.largest_unit > 64 * mmap.PAGESIZE


def test_paging_counts_what_is_pageable(tiny_weights_dir):
    model, files = load_mapped_model(tiny_weights_dir)
    pager = WeightPager(model, files)
    total = sum(t.untyped_storage().nbytes() for t in {id(t): t for t in [*model.parameters(), *model.buffers()]}.values())
    b = pager.bytes
    assert b.pageable and 0 < b.largest_unit < b.units
    assert b.units + b.mapped_other + b.held == total
    assert b.resident(paged=True) == b.largest_unit + b.mapped_other + b.held < b.resident(paged=False)
    assert len(pager.unit_ranges) == model.config.esm.num_layers + model.config.trunk.num_blocks


def test_unaligned_ranges_release_only_whole_pages_inside(tiny_weights_dir):
    """A range not on page boundaries is cut to the whole pages inside it (shared edge pages are kept)."""
    page = mmap.PAGESIZE
    mapped = MappedFile(tiny_weights_dir / "model.safetensors")
    calls = []
    mapped._map = type("Recorder", (), {"madvise": lambda self, advice, start, length: calls.append((start, length))})()
    mapped.advise(mmap.MADV_DONTNEED, 100, 3 * page + 5)
    mapped.advise(mmap.MADV_DONTNEED, page + 10, 2 * page - 1)  # no whole page inside: nothing
    assert calls == [(page, 2 * page)]
    a, b = object(), object()
    assert _merged([(a, 10, 20), (b, 0, 5), (a, 20, 30), (a, 40, 50)]) == [(a, 10, 30), (a, 40, 50), (b, 0, 5)] or \
        _merged([(a, 10, 20), (b, 0, 5), (a, 20, 30), (a, 40, 50)]) == [(b, 0, 5), (a, 10, 30), (a, 40, 50)]


def test_bin_checkpoints_are_not_pageable(tiny_weights_dir, tmp_path):
    from safetensors.torch import load_file

    weights = tmp_path / "bin"
    weights.mkdir()
    (weights / "config.json").write_text((tiny_weights_dir / "config.json").read_text())
    torch.save(load_file(tiny_weights_dir / "model.safetensors"), weights / "pytorch_model.bin")
    model, files = load_mapped_model(weights)
    assert files == [] and not WeightPager(model, files).bytes.pageable
    with pytest.raises(InputError, match="cannot be paged"):
        Folder(model, device=CPU, paging="on", mapped_files=files)
    auto = Folder(load_mapped_model(weights)[0], device=CPU, paging="auto", max_memory=64 << 30)
    [pred] = auto.fold_batch([("x", SEQUENCE[:20])], num_recycles=0)  # auto: held, folds as ever
    assert np.isfinite(pred.positions).all()


def test_bf16_weights_are_copies_and_fold_under_auto(tiny_weights_dir):
    model, files = load_mapped_model(tiny_weights_dir, lm_dtype=torch.bfloat16)
    folder = Folder(model, device=CPU, precision="bf16", paging="auto", mapped_files=files, max_memory=64 << 30)
    assert folder.pager.bytes.held > 0  # the converted language model and trunk are held, not mapped
    assert not folder.pager.bytes.pageable and "converted copies" in folder.pager.bytes.reason
    [pred] = folder.fold_batch([("x", SEQUENCE[:20])], num_recycles=0)
    assert np.isfinite(pred.positions).all()
