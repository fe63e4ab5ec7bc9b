"""TF32 scoped to the fold and the CUDA chunk size from a memory budget (issue 23), checked on the CPU."""

from __future__ import annotations

import pytest
import torch

from remyfold.api import CUDA_PRECISIONS, Folder, available_precisions
from remyfold.errors import InputError
from remyfold.loading import load_model
from remyfold.model.memory import INT32_ELEMENTS, MemoryBudgetError, rows_within
from remyfold.precision import fold_numerics

CUDA, CPU = torch.device("cuda"), torch.device("cpu")


@pytest.fixture
def restore_matmul_precision():
    before = torch.get_float32_matmul_precision()
    yield before
    torch.set_float32_matmul_precision(before)


@pytest.mark.parametrize("start", ["highest", "medium"])
def test_tf32_is_on_only_within_the_fold_scope(restore_matmul_precision, start):
    torch.set_float32_matmul_precision(start)
    with fold_numerics("tf32", CUDA):
        assert torch.get_float32_matmul_precision() == "high"
    assert torch.get_float32_matmul_precision() == start
    with fold_numerics("fp32", CUDA):
        assert torch.get_float32_matmul_precision() == "highest"
    assert torch.get_float32_matmul_precision() == start
    with pytest.raises(RuntimeError), fold_numerics("tf32", CUDA):
        raise RuntimeError("a failing fold")
    assert torch.get_float32_matmul_precision() == start
    with fold_numerics("fp32", CPU):
        assert torch.get_float32_matmul_precision() == start  # the CPU's arithmetic is left alone


def test_a_fold_leaves_no_process_wide_setting_changed(restore_matmul_precision, tiny_weights_dir):
    torch.set_float32_matmul_precision("medium")
    folder = Folder(load_model(tiny_weights_dir), device=CPU)
    [pred] = folder.fold({"x": "MKVLAAGW"}, num_recycles=0)
    assert torch.get_float32_matmul_precision() == "medium"
    assert pred.extra["chunk_size"] is None  # recorded: the CPU rule keeps 8 residues whole


def test_tf32_is_a_cuda_mode(tiny_weights_dir):
    assert set(CUDA_PRECISIONS) <= set(available_precisions(CUDA)) and "tf32" not in available_precisions(CPU)
    with pytest.raises(InputError, match="not available on cpu"):
        Folder(load_model(tiny_weights_dir), device=CPU, precision="tf32")


def test_chunk_size_is_recorded_on_the_prediction(tiny_weights_dir):
    [pred] = Folder(load_model(tiny_weights_dir), device=CPU, chunk_size=3).fold({"x": "MKVLAAGW"}, num_recycles=0)
    assert pred.extra["chunk_size"] == 3


def test_rows_within_a_budget_fit_and_shrink_with_it():
    gib = 2**30
    whole = rows_within(80 * gib, 1, 256, 128, 4, 4, fused_attention=True)
    assert whole.rows is None and whole.expected_bytes <= 80 * gib
    plans = [rows_within(b * gib, 1, 4096, 128, 4, 2, fused_attention=True) for b in (60, 40, 30)]
    rows = [p.rows for p in plans]
    assert all(r is not None and r >= 1 for r in rows) and rows == sorted(rows, reverse=True)
    assert all(p.expected_bytes <= b * gib for p, b in zip(plans, (60, 40, 30)))
    with pytest.raises(MemoryBudgetError, match="GiB"):
        rows_within(8 * gib, 1, 4096, 128, 4, 2, fused_attention=True)


def test_no_chunk_tensor_passes_32_bit_indexing():
    """Unfused logits [rows, H, L, L] stay under 2**31 elements however large the budget."""
    plan = rows_within(10**15, 1, 1100, 128, 4, 4, fused_attention=False)
    assert plan.rows is not None and plan.rows * 4 * 1100 * 1100 <= INT32_ELEMENTS


def test_cuda_chunk_choice_uses_max_memory_and_fails_loudly(tiny_weights_dir):
    folder = Folder(load_model(tiny_weights_dir, attention="sdpa"), device=CPU)
    folder.max_memory = 2**30  # the CUDA rule itself, computed on the CPU
    assert folder.cuda_chunk_size(1, 200) is None
    folder.max_memory = 400 * 2**20
    rows = folder.cuda_chunk_size(1, 600)
    assert rows is not None and 1 <= rows < 600
    folder.max_memory = 2**20
    with pytest.raises(InputError, match="needs about"):
        folder.cuda_chunk_size(1, 600)
