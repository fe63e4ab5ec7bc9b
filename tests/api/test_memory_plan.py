"""The CPU memory plan (issue 24): paging and chunk size from a budget, refusal before folding."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from remyfold.api import Folder
from remyfold.errors import InputError
from remyfold.loading import load_mapped_model
from remyfold.memory_plan import Budget, CpuMemoryModel, longest_fitting, plan_cpu_fold
from remyfold.model.memory import FoldDims, MemoryBudgetError
from remyfold.paging import WeightBytes
from remyfold.settings import EngineSettings, parse_size

GIB = 1024**3
# esmfold_v1's dimensions and weights as remyfold holds them (fp16 LM mapped, the rest fp32 mapped).
DIMS = FoldDims(lm_layers=36, lm_hidden=2560, lm_heads=40, lm_ffn=10240, c_z=128)
WEIGHTS = WeightBytes(units=int(7.6 * GIB), largest_unit=160 << 20, mapped_other=250 << 20, held=0, pageable=True)
MEMORY = CpuMemoryModel(DIMS, WEIGHTS, base=400 << 20, lm_scratch=630 << 20)


def plan(limit_gib: float, length: int, paging: str = "auto", chunk_size=None, default_rows=None):
    return plan_cpu_fold(MEMORY, Budget(int(limit_gib * GIB), given=True), 1, length, paging=paging,
                         chunk_size=chunk_size, default_rows=default_rows)  # fmt: skip


def test_weights_are_held_when_they_fit_and_paged_when_they_do_not():
    roomy = plan(32, 400, default_rows=81)
    assert not roomy.paged and roomy.rows == 81 and roomy.expected_bytes <= 32 * GIB
    tight = plan(4.5, 400, default_rows=81)
    assert tight.paged and tight.expected_bytes <= 4.5 * GIB
    assert plan(4.5, 400, paging="on", default_rows=81).paged
    with pytest.raises(MemoryBudgetError):
        plan(4.5, 400, paging="off", default_rows=81)


def test_a_tighter_budget_gets_a_smaller_chunk():
    paged_32 = MEMORY.need(1, 1000, 32, paged=True) / GIB
    budgets = (16, paged_32, paged_32 - 0.01, paged_32 - 0.05, MEMORY.need(1, 1000, 1, paged=True) / GIB)
    rows = [plan(gib, 1000, default_rows=32).rows for gib in budgets]
    assert rows[:2] == [32, 32] and all(later <= earlier for earlier, later in zip(rows, rows[1:]))
    assert rows[2] == 16 and rows[-1] == 1
    assert plan(16, 1000, chunk_size=8).rows == 8  # a chunk size set is kept


def test_refusal_names_the_need_the_budget_and_the_longest_length_that_fits():
    with pytest.raises(MemoryBudgetError) as refused:
        plan(6, 3000, default_rows=16)
    message = str(refused.value)
    assert "\n" not in message and "3,000-residue" in message and "--max-memory 6.0 GiB" in message
    longest = longest_fitting(MEMORY, 6 * GIB, "auto", None)
    assert f"~{longest:,} residues" in message
    assert MEMORY.need(1, longest, 1, True) <= 6 * GIB < MEMORY.need(1, longest + 1, 1, True)
    assert plan(6, longest, default_rows=16).paged


def test_unpageable_weights_are_never_planned_paged():
    memory = CpuMemoryModel(DIMS, WeightBytes(0, 0, 0, int(7.9 * GIB), pageable=False, reason="x"), base=0)
    got = plan_cpu_fold(memory, Budget(16 * GIB, given=False), 1, 400, paging="auto", chunk_size=None, default_rows=81)
    assert not got.paged
    with pytest.raises(MemoryBudgetError, match="this machine has available"):
        plan_cpu_fold(memory, Budget(8 * GIB, given=False), 1, 400, paging="auto", chunk_size=None, default_rows=81)


@pytest.mark.parametrize("text, value", [("16G", 16 * GIB), ("16GiB", 16 * GIB), ("12000M", 12000 << 20),
                                         ("1.5g", int(1.5 * GIB)), ("8589934592", 8 * GIB), ("512 MB", 512 << 20)])
def test_sizes_parse(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "16X", "G", "-1G", "0", "sixteen"])
def test_bad_sizes_are_one_line_errors(text):
    with pytest.raises(InputError, match="--max-memory"):
        parse_size(text)


def test_settings_check_paging_and_max_memory():
    with pytest.raises(InputError, match="--paging"):
        EngineSettings(paging="sometimes")
    with pytest.raises(InputError, match="--max-memory"):
        EngineSettings(max_memory=0)


def test_folder_on_the_cpu_folds_with_the_planned_chunk(tiny_weights_dir):
    model, files = load_mapped_model(tiny_weights_dir)
    folder = Folder(model, device=torch.device("cpu"), max_memory=64 * GIB, mapped_files=files)
    planned = folder.memory_plan(1, 40)
    assert planned is not None and not planned.paged
    [pred] = folder.fold_batch([("x", "M" * 40)], num_recycles=0)
    assert pred.extra["chunk_size"] == planned.rows
    folder.budget = Budget(folder.memory.need(1, 40, 1, True), given=True)  # only the most frugal plan fits
    tight = folder.memory_plan(1, 40)
    assert tight.paged and tight.rows is not None and tight.rows < 40
    with pytest.raises(InputError, match="longest that fits"):
        folder.check_fits([("x", "M" * 80)])


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "remyfold.cli", "predict", *args], capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def test_cli_refuses_a_fold_that_cannot_fit_before_folding(tiny_weights_dir, tmp_path):
    fasta = tmp_path / "a.fa"
    fasta.write_text(">a\nMKTAYIAKQRQISFVKSHFSRQ\n")
    out = tmp_path / "out"
    done = run_cli(str(fasta), "--out", str(out), "--weights", str(tiny_weights_dir), "--device", "cpu",
                   "--max-memory", "50M", "--quiet")  # fmt: skip
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not out.exists()  # refused before any folding: nothing written


@pytest.mark.parametrize("flags", [("--max-memory", "12x"), ("--max-memory", "0"), ("--paging", "sometimes")])
def test_cli_bad_max_memory_or_paging_exits_2(tiny_weights_dir, tmp_path, flags):
    fasta = tmp_path / "a.fa"
    fasta.write_text(">a\nMKTAYIAKQRQ\n")
    done = run_cli(str(fasta), "--out", str(tmp_path / "out"), "--weights", str(tiny_weights_dir), *flags)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_budgets_below_a_gib_are_named_in_mib_not_as_zero_gib():
    assert Budget(10 * 2**20, given=True).describe() == "--max-memory 10 MiB allows"
    assert Budget(16 * 2**30, given=False).describe() == "the 16.0 GiB this machine has available allows"
