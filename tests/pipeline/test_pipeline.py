"""Tests of remyfold.pipeline with a fake engine: outputs, batching, failures, reruns, early errors."""

from __future__ import annotations

import csv
import json

import gemmi
import numpy as np
import pytest

from remyfold.errors import InputError, WeightsError
from remyfold.io.residues import RESTYPES_WITH_X
from remyfold.pipeline import PredictOptions, run_predict
from remyfold.prediction import Chain, Prediction
from remyfold.sequence import CHAIN_IDS

FASTA = ">short\nMKV\n>cx complex\nMKVLA:GGW\n>long\nMKVLAAGGWDDEEKK\n"


def fake_prediction(record_id: str, sequence: str) -> Prediction:
    """A deterministic prediction: backbone atoms on a line, pLDDT 80, pTM 0.5; complexes: ipTM 0.3."""
    chains = sequence.split(":")
    n = len(sequence) - sequence.count(":")
    mask = np.zeros((n, 37), dtype=bool)
    mask[:, :3] = True  # N CA C
    positions = np.zeros((n, 37, 3), dtype=np.float32)
    positions[:, :, 0] = np.arange(n, dtype=np.float32)[:, None] * 3.8
    return Prediction(
        id=record_id,
        chains=[Chain(CHAIN_IDS[i], s) for i, s in enumerate(chains)],
        aatype=np.array([RESTYPES_WITH_X.index(c) for c in sequence.replace(":", "")]),
        positions=positions,
        atom_mask=mask,
        plddt=np.full((n, 37), 80.0, dtype=np.float32),
        pae=np.full((n, n), 1.234, dtype=np.float32),
        ptm=0.5,
        chain_index=np.repeat(np.arange(len(chains)), [len(c) for c in chains]),
        residue_number=np.concatenate([np.arange(1, len(c) + 1) for c in chains]),
        num_recycles=4,
        model_name="fake",
        weights_revision="rev0",
        seconds=0.25,
        extra={"max_pae": 31.75},
        **(complex_scores(len(chains)) if len(chains) > 1 else {}),
    )


def complex_scores(num_chains: int) -> dict:
    """Fields of a complex: ipTM 0.3, actifpTM 0.6, chain pairs 0.3 (diagonal 0.9), min PAE 5 (diagonal 0.5)."""
    eye = np.eye(num_chains, dtype=np.float32)
    return dict(iptm=0.3, ranking_confidence=0.8 * 0.3 + 0.2 * 0.5, actifptm=0.6,
                chain_pair_iptm=0.3 + 0.6 * eye, chain_pair_pae_min=5.0 - 4.5 * eye)  # fmt: skip


class FakeFolder:
    """Engine stand-in: records each batch; raises for batches holding an id in ``fail_ids``."""

    device = "cpu"

    def __init__(self, fail_ids=(), interrupt_after=None):
        self.batches: list[list[str]] = []
        self.progress: list = []  # the progress callback passed with each batch
        self.fail_ids = set(fail_ids)
        self.interrupt_after = interrupt_after

    def fold_batch(self, records, *, num_recycles=None, progress=None):
        self.progress.append(progress)
        if self.interrupt_after is not None and len(self.batches) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.batches.append([record_id for record_id, _ in records])
        if self.fail_ids & {record_id for record_id, _ in records}:
            raise RuntimeError("boom\nsecond line")
        return [fake_prediction(record_id, sequence) for record_id, sequence in records]


class FakeLoader:
    precisions = ("fp32",)

    def __init__(self, folder=None):
        self.folder = folder or FakeFolder()
        self.loads = []

    def __call__(self, weights, options):
        self.loads.append((weights, options))
        return self.folder


@pytest.fixture
def weights_dir(tmp_path):
    directory = tmp_path / "weights"
    directory.mkdir()
    (directory / "config.json").write_text("{}")
    (directory / "model.safetensors").write_bytes(b"\x00" * 16)
    return directory


@pytest.fixture
def fasta(tmp_path):
    path = tmp_path / "in.fasta"
    path.write_text(FASTA)
    return path


def options(tmp_path, weights_dir, **kwargs) -> PredictOptions:
    return PredictOptions(out_dir=tmp_path / "out", weights=weights_dir, progress=False, **kwargs)


def read_summary(out_dir):
    with open(out_dir / "summary.tsv", newline="") as handle:
        return list(csv.DictReader(handle, dialect="excel-tab"))


def test_outputs_for_every_record(tmp_path, fasta, weights_dir):
    loader = FakeLoader()
    opts = options(tmp_path, weights_dir)
    results = run_predict([fasta], opts, loader=loader)
    assert [(r.id, r.status) for r in results] == [("short", "ok"), ("cx", "ok"), ("long", "ok")]
    assert loader.loads[0][0].directory == weights_dir.resolve()
    out = opts.out_dir
    data = json.loads((out / "cx.json").read_text())
    assert data["sequence"] == "MKVLA:GGW"
    assert data["chains"] == [
        {"id": "A", "sequence": "MKVLA", "length": 5},
        {"id": "B", "sequence": "GGW", "length": 3},
    ]
    assert (data["mean_plddt"], data["ptm"], data["max_pae"], data["num_recycles"]) == (80.0, 0.5, 31.75, 4)
    assert data["plddt"] == [80.0] * 8 and data["pae"] == [[1.23] * 8] * 8
    assert (data["model_name"], data["weights_revision"], data["device"]) == ("fake", "rev0", "cpu")
    assert {"precision", "seconds", "remyfold_version", "id"} <= data.keys()
    structure = gemmi.read_structure(str(out / "cx.pdb"))
    assert [(c.name, len(c)) for c in structure[0]] == [("A", 5), ("B", 3)]
    assert gemmi.read_structure(str(out / "cx.cif"))[0].count_atom_sites() == 24
    rows = read_summary(out)
    assert list(rows[0]) == ["id", "length", "chains", "mean_plddt", "ptm", "iptm", "status", "seconds", "error"]
    assert [(r["id"], r["length"], r["chains"], r["status"]) for r in rows] == [
        ("short", "3", "A:3", "ok"), ("cx", "8", "A:5,B:3", "ok"), ("long", "15", "A:15", "ok")]  # fmt: skip
    assert (rows[1]["mean_plddt"], rows[1]["ptm"], rows[1]["seconds"]) == ("80.00", "0.5000", "0.25")
    assert (rows[0]["iptm"], rows[1]["iptm"]) == ("", "0.3000")  # a single chain has no ipTM, not 0
    assert not list(out.glob(".*.tmp"))


def test_complex_scores_in_the_json_and_null_for_a_single_chain(tmp_path, fasta, weights_dir):
    opts = options(tmp_path, weights_dir)
    run_predict([fasta], opts, loader=FakeLoader())
    cx = json.loads((opts.out_dir / "cx.json").read_text())
    assert (cx["iptm"], cx["ranking_confidence"], cx["actifptm"]) == (0.3, 0.34, 0.6)
    assert cx["chain_pair_iptm"] == [[0.9, 0.3], [0.3, 0.9]] and cx["chain_pair_pae_min"] == [[0.5, 5.0], [5.0, 0.5]]
    mono = json.loads((opts.out_dir / "short.json").read_text())
    keys = ("iptm", "ranking_confidence", "actifptm", "chain_pair_iptm", "chain_pair_pae_min")
    assert {key: mono[key] for key in keys} == dict.fromkeys(keys)
    # a rerun keeps the ipTM of the finished records in summary.tsv
    run_predict([fasta], opts, loader=FakeLoader())
    assert [r["iptm"] for r in read_summary(opts.out_dir)] == ["", "0.3000", ""]


def test_rerun_over_a_folder_written_before_iptm(tmp_path, fasta, weights_dir):
    """JSON files without the complex scores (older runs) are still finished records, with an empty ipTM cell."""
    opts = options(tmp_path, weights_dir)
    run_predict([fasta], opts, loader=FakeLoader())
    path = opts.out_dir / "cx.json"
    data = json.loads(path.read_text())
    for key in ("iptm", "ranking_confidence", "actifptm", "chain_pair_iptm", "chain_pair_pae_min"):
        del data[key]
    path.write_text(json.dumps(data))
    results = run_predict([fasta], opts, loader=FakeLoader())
    assert {r.status for r in results} == {"skipped"}
    assert read_summary(opts.out_dir)[1]["iptm"] == ""


def test_failed_batch_is_retried_record_by_record(tmp_path, fasta, weights_dir):
    folder = FakeFolder(fail_ids={"cx"})
    results = run_predict([fasta], options(tmp_path, weights_dir), loader=FakeLoader(folder))
    assert [(r.id, r.status) for r in results] == [("short", "ok"), ("cx", "failed"), ("long", "ok")]
    assert folder.batches[0] == ["short", "long", "cx"]  # one batch (by folded length), then one by one
    assert sorted(folder.batches[1:]) == [["cx"], ["long"], ["short"]]
    failed = read_summary(tmp_path / "out")[1]
    assert (failed["status"], failed["error"]) == ("failed", "RuntimeError: boom")
    assert not (tmp_path / "out" / "cx.json").exists()


def test_rerun_skips_finished_records_without_loading(tmp_path, fasta, weights_dir):
    opts = options(tmp_path, weights_dir)
    run_predict([fasta], opts, loader=FakeLoader(FakeFolder(fail_ids={"cx"})))
    loader = FakeLoader()
    results = run_predict([fasta], opts, loader=loader)
    assert [(r.id, r.status) for r in results] == [("short", "skipped"), ("cx", "ok"), ("long", "skipped")]
    assert loader.folder.batches == [["cx"]]
    skipped = read_summary(opts.out_dir)[0]
    assert (skipped["status"], skipped["mean_plddt"], skipped["ptm"]) == ("skipped", "80.00", "0.5000")
    assert skipped["seconds"] == "0.25"  # the fold time of the run that made it
    # Nothing left to do: the model is not even loaded.
    idle = FakeLoader()
    assert {r.status for r in run_predict([fasta], opts, loader=idle)} == {"skipped"}
    assert idle.loads == []


def test_overwrite_and_changed_sequence_refold(tmp_path, fasta, weights_dir):
    opts = options(tmp_path, weights_dir)
    run_predict([fasta], opts, loader=FakeLoader())
    fasta.write_text(FASTA.replace("MKV\n", "MKVW\n", 1))
    loader = FakeLoader()
    assert [r.status for r in run_predict([fasta], opts, loader=loader)] == ["ok", "skipped", "skipped"]
    overwrite = options(tmp_path, weights_dir, overwrite=True)
    assert {r.status for r in run_predict([fasta], overwrite, loader=FakeLoader())} == {"ok"}


def test_interrupted_run_leaves_consistent_summary(tmp_path, fasta, weights_dir):
    opts = options(tmp_path, weights_dir, max_tokens_per_batch=16)  # one record per batch
    with pytest.raises(KeyboardInterrupt):
        run_predict([fasta], opts, loader=FakeLoader(FakeFolder(interrupt_after=1)))
    statuses = {row["id"]: row["status"] for row in read_summary(opts.out_dir)}
    assert statuses == {"short": "ok", "cx": "pending", "long": "pending"}


def test_input_errors_come_before_any_work(tmp_path, weights_dir):
    bad = tmp_path / "bad.fasta"
    bad.write_text(">ok\nMKV\n>bad\nMKZV\n")
    loader = FakeLoader()
    with pytest.raises(InputError, match="record 'bad'.*'Z' at residue 3"):
        run_predict([bad], options(tmp_path, weights_dir), loader=loader)
    assert loader.loads == [] and not (tmp_path / "out").exists()


def test_option_errors(tmp_path, fasta, weights_dir):
    with pytest.raises(InputError, match="--precision fp8: choose one of fp32"):
        run_predict([fasta], options(tmp_path, weights_dir, precision="fp8"), loader=FakeLoader())
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="is a file"):
        run_predict([fasta], PredictOptions(out_dir=tmp_path / "file", weights=weights_dir), loader=FakeLoader())
    for bad in ({"device": "gpu"}, {"num_recycles": -1}, {"chunk_size": 0}, {"max_tokens_per_batch": 0}):
        with pytest.raises(InputError):
            options(tmp_path, weights_dir, **bad)


def test_cuda_requested_without_gpu(tmp_path, fasta, weights_dir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present; the no-GPU error cannot happen")
    with pytest.raises(InputError, match="--device cuda:1: no CUDA GPU"):
        run_predict([fasta], options(tmp_path, weights_dir, device="cuda:1"), loader=FakeLoader())


def test_missing_weights_fail_before_folding(tmp_path, fasta, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loader = FakeLoader()
    opts = PredictOptions(out_dir=tmp_path / "out", weights="facebook/esmfold_v1", progress=False)
    with pytest.raises(WeightsError, match="remyfold weights download facebook/esmfold_v1"):
        run_predict([fasta], opts, loader=loader)
    assert loader.loads == []


def test_skipped_record_keeps_the_fold_time_of_its_json(tmp_path, fasta, weights_dir):
    opts = options(tmp_path, weights_dir)
    run_predict([fasta], opts, loader=FakeLoader())
    data = json.loads((opts.out_dir / "long.json").read_text())
    (opts.out_dir / "long.json").write_text(json.dumps(data | {"seconds": 42.125}))
    assert {r.status for r in run_predict([fasta], opts, loader=FakeLoader())} == {"skipped"}
    assert {row["id"]: row["seconds"] for row in read_summary(opts.out_dir)}["long"] == "42.12"


class FailingLoader(FakeLoader):
    """A model that cannot be loaded (e.g. weights that do not match their config.json)."""

    def __call__(self, weights, options):
        raise WeightsError("checkpoint does not match its config.json")


def _missing_hub_weights(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return "facebook/esmfold_v1"


@pytest.mark.parametrize("failure", ["device", "weights", "load"])
def test_failure_before_folding_leaves_no_new_folder(tmp_path, fasta, weights_dir, monkeypatch, failure):
    import torch

    if failure == "device" and torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present; the no-GPU error cannot happen")
    out = tmp_path / "new" / "nested" / "out"
    kwargs = {"device": "cuda:1"} if failure == "device" else {}
    weights = _missing_hub_weights(tmp_path, monkeypatch) if failure == "weights" else weights_dir
    opts = PredictOptions(out_dir=out, weights=weights, progress=False, **kwargs)
    with pytest.raises((InputError, WeightsError)):
        run_predict([fasta], opts, loader=FailingLoader() if failure == "load" else FakeLoader())
    assert not (tmp_path / "new").exists()


def test_failure_before_folding_keeps_an_existing_folder(tmp_path, fasta, weights_dir, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    opts = PredictOptions(out_dir=out, weights=_missing_hub_weights(tmp_path, monkeypatch), progress=False)
    with pytest.raises(WeightsError):
        run_predict([fasta], opts, loader=FakeLoader())
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(WeightsError):
        run_predict([fasta], PredictOptions(out_dir=empty, weights=weights_dir, progress=False), loader=FailingLoader())
    assert empty.is_dir()  # it was there before: never removed


def test_each_batch_gets_a_stage_callback(tmp_path, fasta, weights_dir):
    folder = FakeFolder()
    run_predict([fasta], options(tmp_path, weights_dir, max_tokens_per_batch=1), loader=FakeLoader(folder))
    assert len(folder.progress) == len(folder.batches) > 1
    assert all(callable(callback) for callback in folder.progress)
    folder.progress[0]("trunk pass 1 of 4")  # a closed (disabled) bar accepts late stages
