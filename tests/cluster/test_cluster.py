"""``remyfold predict --scheduler/--workers``: a real Dask scheduler and workers on 127.0.0.1, a tiny model.

The workers run ``tests/cluster_preload.py``, which logs every output file written and every
fold started (to count writes and find the worker to kill) and can slow folds down. Every
process is started by a fixture and killed by it; every wait is bounded.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from remyfold import cli as cli_module
from remyfold.pipeline import PredictOptions, run_predict

distributed = pytest.importorskip("distributed", reason="needs the cluster extra: pip install 'remyfold[cluster]'")
pytestmark = pytest.mark.slow

PRELOAD = Path(__file__).parents[1] / "support" / "cluster_preload.py"
FASTA = (">m16\nMGLLECCARCLVGAPF\n>cx\nMKVLAG:GGWQ\n>m24\nMKVLAAGGWDDEEKKMKVLAAGGW\n>m10\nGSHMLEDPVQ\n"
         ">m22\nMKTAYIAKQRQISFVKSHFSRQ\n>m12\nMKTAYIAKQRQI\n>m30\nMKVLAAGGWDDEEKKMKVLAAGGWDDEEKK\n")  # fmt: skip
IDS = ["m16", "cx", "m24", "m10", "m22", "m12", "m30"]
FLAGS = ["--num-recycles", "1", "--max-tokens-per-batch", "48", "--device", "cpu"]
TIMEOUT = 120  # seconds: the longest any run or wait of these tests may take


class DaskProcesses:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, each in its own process group."""

    def __init__(self, tmp: Path, env: dict):
        self.tmp, self.env, self.procs = tmp, env, []
        self.address = None

    def start_scheduler(self) -> str:
        scheduler_file = self.tmp / "scheduler.json"
        self._spawn("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", str(scheduler_file))  # fmt: skip
        deadline = time.monotonic() + TIMEOUT
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            assert time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.1)
        time.sleep(0.1)  # the file is complete once written; give it a moment on slow disks
        self.address = json.loads(scheduler_file.read_text())["address"]
        return self.address

    def start_worker(self, name: str) -> subprocess.Popen:
        return self._spawn("worker", self.address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1",
                           "--no-dashboard", "--name", name, "--death-timeout", "20", "--preload", str(PRELOAD))

    def wait_for_workers(self, n: int) -> None:
        with distributed.Client(self.address, timeout=TIMEOUT, set_as_default=False) as client:
            client.wait_for_workers(n, timeout=TIMEOUT)

    def _spawn(self, *args) -> subprocess.Popen:
        log = open(self.tmp / f"dask-{len(self.procs)}.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "dask", *args], env=self.env, stdout=log, stderr=log,
                                start_new_session=True)  # fmt: skip
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=TIMEOUT)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            self.kill(proc)


def dask_env(log: Path, **extra) -> dict:
    """The environment of the Dask processes: the preload's log, allowed failures, short timeouts."""
    env = dict(os.environ, REMYFOLD_TEST_LOG=str(log), DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="1")
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A scheduler and two single-threaded workers (``w1``, ``w2``) running the preload."""
    tmp = tmp_path_factory.mktemp("dask")
    log = tmp / "worker-events.log"
    procs = DaskProcesses(tmp, dask_env(log))
    try:
        procs.start_scheduler()
        procs.start_worker("w1")
        procs.start_worker("w2")
        procs.wait_for_workers(2)
        yield procs, log
    finally:
        procs.stop()


@pytest.fixture
def events(dask_cluster):
    """The preload's log, emptied before the test; a function returning its lines split in words."""
    _, log = dask_cluster
    log.write_text("")
    Path(f"{log}.slow").unlink(missing_ok=True)
    dask_cluster[0].wait_for_workers(2)  # a worker killed by an earlier test is back
    yield lambda: [line.split() for line in log.read_text().splitlines()]
    Path(f"{log}.slow").unlink(missing_ok=True)


def predict_subprocess(fasta: Path, out: Path, weights: Path, *flags, env=None) -> subprocess.Popen:
    argv = [sys.executable, "-m", "remyfold.cli", "predict", str(fasta), "--out", str(out), "--weights", str(weights)]
    return subprocess.Popen([*argv, *FLAGS, "--quiet", *flags], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def summary(out: Path) -> dict[str, dict]:
    with open(out / "summary.tsv", newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle, dialect="excel-tab")}


def summary_statuses(out: Path) -> list[str]:
    """The statuses in ``summary.tsv`` (none before it exists)."""
    return [row["status"] for row in summary(out).values()] if (out / "summary.tsv").exists() else []


def write_counts(lines) -> Counter:
    return Counter(words[2] for words in lines if words[0] == "write")


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def assert_same_structures(a: Path, b: Path) -> None:
    """Same atoms, coordinates within 2e-3 Å (threads change the summation order), pLDDT within 0.01."""
    import gemmi

    def atoms(path):
        st = gemmi.read_structure(str(path))
        return [(ch.name, r.seqid.num, r.name, at.name, at.pos.tolist(), at.b_iso)
                for ch in st[0] for r in ch for at in r]  # fmt: skip

    atoms_a, atoms_b = atoms(a), atoms(b)
    assert [x[:4] for x in atoms_a] == [x[:4] for x in atoms_b]
    np.testing.assert_allclose([x[4] for x in atoms_a], [x[4] for x in atoms_b], atol=2e-3)
    np.testing.assert_allclose([x[5] for x in atoms_a], [x[5] for x in atoms_b], atol=0.011)


def assert_same_json(a: Path, b: Path) -> None:
    da, db = json.loads(a.read_text()), json.loads(b.read_text())
    assert da.keys() == db.keys()
    for key in da:
        if key in ("plddt", "pae", "mean_plddt", "ptm"):
            np.testing.assert_allclose(da[key], db[key], atol=0.011, err_msg=key)
        elif key != "seconds":
            assert da[key] == db[key], key


def test_cluster_run_equals_single_process_run(dask_cluster, events, tiny_weights_dir, tmp_path, capsys):
    procs, _ = dask_cluster
    fasta = tmp_path / "in.fa"
    fasta.write_text(FASTA)
    local, remote = tmp_path / "local", tmp_path / "remote"
    options = PredictOptions(out_dir=local, weights=tiny_weights_dir, device="cpu", num_recycles=1,
                             max_tokens_per_batch=48, progress=False)  # fmt: skip
    run_predict([fasta], options)
    argv = ["predict", str(fasta), "--out", str(remote), "--weights", str(tiny_weights_dir), *FLAGS, "--quiet"]
    assert cli_module.main([*argv, "--scheduler", procs.address]) == 0

    assert sorted(p.name for p in remote.iterdir()) == sorted(p.name for p in local.iterdir())
    rows_local, rows_remote = summary(local), summary(remote)
    assert list(rows_remote) == IDS  # input order, as a single-process run
    for rid in IDS:
        assert {**rows_remote[rid], "seconds": ""} == {**rows_local[rid], "seconds": ""} | {
            k: rows_remote[rid][k] for k in ("mean_plddt", "ptm")}  # fmt: skip
        assert rows_remote[rid]["status"] == "ok"
        np.testing.assert_allclose(float(rows_remote[rid]["mean_plddt"]), float(rows_local[rid]["mean_plddt"]), atol=0.011)
        assert_same_structures(local / f"{rid}.pdb", remote / f"{rid}.pdb")
        assert_same_structures(local / f"{rid}.cif", remote / f"{rid}.cif")
        assert_same_json(local / f"{rid}.json", remote / f"{rid}.json")
    lines = events()
    # Both workers folded; every output file was written once, by a worker.
    assert len({words[1] for words in lines if words[0] == "fold"}) == 2
    assert write_counts(lines) == Counter({f"{rid}{ext}": 1 for rid in IDS for ext in (".pdb", ".cif", ".json")})
    # Larger batches first: of the batches [m10 m12 m16] [m22 m24] (48 padded tokens), [m30] (30), [cx] (35:
    # 10 residues + the 25-glycine linker), a 48-token batch starts first.
    assert next(words[2] for words in lines if words[0] == "fold") in ("m10,m12,m16", "m22,m24")
    # --overwrite refolds everything once more; its run markers are gone afterwards.
    assert cli_module.main([*argv, "--scheduler", procs.address, "--overwrite"]) == 0
    assert {rid: row["status"] for rid, row in summary(remote).items()} == dict.fromkeys(IDS, "ok")
    assert set(write_counts(events()).values()) == {2}
    assert not (remote / ".remyfold-cluster").exists()


def test_worker_killed_mid_batch(dask_cluster, events, tiny_weights_dir, tmp_path):
    procs, log = dask_cluster
    fasta = tmp_path / "in.fa"
    fasta.write_text(FASTA)
    Path(f"{log}.slow").write_text("1.0")
    run = predict_subprocess(fasta, tmp_path / "out", tiny_weights_dir, "--scheduler", procs.address)
    try:
        wait_until(lambda: any(words[0] == "fold" for words in events()), "a fold to start")
        _, victim, victim_ids = next(words for words in events() if words[0] == "fold")
        os.kill(int(victim), signal.SIGKILL)  # the worker process itself, mid-batch (its nanny restarts it)
        _, stderr = run.communicate(timeout=TIMEOUT)
    finally:
        run.kill()
    assert run.returncode == 0, stderr
    assert {rid: row["status"] for rid, row in summary(tmp_path / "out").items()} == dict.fromkeys(IDS, "ok")
    lines = events()
    # The killed batch was folded again by another worker process; nothing was written twice.
    assert any(words[0] == "fold" and words[1] != victim and words[2] == victim_ids for words in lines)
    assert not any(words[0] == "write" and words[1] == victim for words in lines)
    assert write_counts(lines) == Counter({f"{rid}{ext}": 1 for rid in IDS for ext in (".pdb", ".cif", ".json")})


def test_record_that_kills_every_worker_is_failed_others_go_on(dask_cluster, events, tiny_weights_dir, tmp_path):
    procs, _ = dask_cluster
    fasta = tmp_path / "in.fa"
    fasta.write_text(">a\nMKTAYIAKQRQI\n>poison1\nGSHMLEDPVQKL\n>b\nMGLLECCARCLV\n")
    run = predict_subprocess(fasta, tmp_path / "out", tiny_weights_dir, "--scheduler", procs.address)
    _, stderr = run.communicate(timeout=TIMEOUT)
    assert run.returncode == 1, stderr
    rows = summary(tmp_path / "out")
    assert {rid: row["status"] for rid, row in rows.items()} == {"a": "ok", "poison1": "failed", "b": "ok"}
    assert rows["poison1"]["error"].startswith("KilledWorker")
    # The three shared one batch; after it killed workers, each record was tried alone.
    assert ["a"] in [words[2].split(",") for words in events() if words[0] == "fold"]
    assert not (tmp_path / "out" / "poison1.json").exists()


def test_scheduler_lost_then_rerun_on_local_workers_skips_finished(tiny_weights_dir, tmp_path):
    log = tmp_path / "events.log"
    log.write_text("")
    Path(f"{log}.slow").write_text("0.5")
    procs = DaskProcesses(tmp_path, dask_env(log))
    fasta = tmp_path / "in.fa"
    fasta.write_text(FASTA)
    out = tmp_path / "out"
    client_env = dict(os.environ, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="2s")
    try:
        scheduler = procs.start_scheduler()
        procs.start_worker("only")
        procs.wait_for_workers(1)
        run = predict_subprocess(fasta, out, tiny_weights_dir, "--scheduler", scheduler, env=client_env)
        try:
            wait_until(lambda: "ok" in summary_statuses(out), "the client to record a first batch")
            procs.kill(procs.procs[0])  # the scheduler goes away mid-run
            _, stderr = run.communicate(timeout=TIMEOUT)
        finally:
            run.kill()
    finally:
        procs.stop()
    assert run.returncode == 2, stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert "lost the Dask scheduler" in stderr
    first = {rid: row["status"] for rid, row in summary(out).items()}
    assert set(first.values()) == {"ok", "pending"}

    finished = {rid for rid in IDS if (out / f"{rid}.json").exists()}  # the summary's, and any written since
    argv = ["predict", str(fasta), "--out", str(out), "--weights", str(tiny_weights_dir), *FLAGS, "--quiet"]
    assert cli_module.main([*argv, "--workers", "2"]) == 0
    second = {rid: row["status"] for rid, row in summary(out).items()}
    assert second == {rid: "skipped" if rid in finished else "ok" for rid in IDS}
    assert {rid for rid, status in first.items() if status == "ok"} <= finished < set(IDS)


def test_unreachable_scheduler_is_one_line(tiny_weights_dir, tmp_path, capsys):
    import dask

    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fasta = tmp_path / "in.fa"
    fasta.write_text(FASTA)
    argv = ["predict", str(fasta), "--out", str(tmp_path / "out"), "--weights", str(tiny_weights_dir), "--quiet"]
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert cli_module.main([*argv, "--scheduler", f"tcp://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot connect" in err
    assert not any((tmp_path / "out").glob("*.json"))


def test_missing_extra_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now raises ImportError
    fasta = tmp_path / "in.fa"
    fasta.write_text(FASTA)
    assert cli_module.main(["predict", str(fasta), "--out", str(tmp_path / "o"), "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "remyfold[cluster]" in err


def test_scheduler_and_workers_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_module.main(["predict", "x.fa", "--out", "o", "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"])
    assert exit_info.value.code == 2
