"""``--threads`` reaches torch and the outputs; the stage callback reports each stage of a fold in order."""

from __future__ import annotations

import json

import pytest
import torch

from remyfold.api import Folder
from remyfold.errors import InputError
from remyfold.loading import load_model
from remyfold.pipeline import PredictOptions, run_predict
from remyfold.threads import available_cores, use_threads


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_default_is_the_cores_available(restore_threads, monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 3, 5})
    assert available_cores() == 3
    assert use_threads() == 3 and torch.get_num_threads() == 3


def test_folder_sets_and_records_threads(tiny_weights_dir, restore_threads):
    folder = Folder(load_model(tiny_weights_dir), device=torch.device("cpu"), threads=1)
    assert folder.threads == 1 and torch.get_num_threads() == 1
    with pytest.raises(InputError, match="--threads"):
        use_threads(0)


def test_stage_callback_sequence(tiny_weights_dir):
    folder = Folder(load_model(tiny_weights_dir), device=torch.device("cpu"))
    stages: list[str] = []
    folder.fold_batch([("a", "MKTAYIAKQR"), ("b", "GSHM")], num_recycles=2, progress=stages.append)
    assert stages == [
        "language model",
        "trunk pass 1 of 3", "structure module 1 of 3",
        "trunk pass 2 of 3", "structure module 2 of 3",
        "trunk pass 3 of 3", "structure module 3 of 3",
    ]  # fmt: skip


def test_predict_passes_threads_and_stages(tiny_weights_dir, tmp_path, restore_threads):
    fasta = tmp_path / "in.fa"
    fasta.write_text(">a\nMKTAYIAKQR\n")
    options = PredictOptions(out_dir=tmp_path / "out", weights=tiny_weights_dir, device="cpu", threads=1,
                             num_recycles=0, progress=True)  # fmt: skip
    [result] = run_predict([fasta], options)
    assert result.status == "ok"
    assert json.loads((tmp_path / "out" / "a.json").read_text())["threads"] == 1
    assert torch.get_num_threads() == 1
    with pytest.raises(InputError, match="--threads"):
        PredictOptions(out_dir=tmp_path / "o", threads=0)
