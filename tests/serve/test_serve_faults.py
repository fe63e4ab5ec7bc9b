"""Faults: the server SIGKILLed mid-job and restarted; corrupt and oversized uploads."""

from __future__ import annotations

import os
import sys
import time

import gemmi
from conftest import HERE, ServerProcess, cli_server, client, make_users, wait_for_job

from remyfold.serve.config import ServeConfig
from remyfold.serve.store import Store, User

AUDITOR = User(id=0, name="auditor", is_admin=True)  # reads the store directly

# Three records of 30 residues, 2 recycles: long enough (seconds) to be caught running.
# Three 150-residue records: several seconds of folding even on an idle machine, so the test sees
# the job running before it finishes (30-residue records finished between two polls).
LONG_JOB = "".join(f">rec{i}\n{('MKVLAAGIWEKLSTRPQDNY'[i:] + 'MKVLAAGIWEKLSTRPQDNY')[:15] * 10}\n" for i in range(3))


def wait_dead(pid: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError(f"worker {pid} outlived the server")


def test_sigkill_mid_job_then_restart_finishes_it_exactly_once(tiny_weights_dir, tmp_path):
    data_dir = tmp_path / "data"
    tokens = make_users(data_dir)
    store = Store(ServeConfig(data_dir=data_dir).database)
    server = cli_server(tiny_weights_dir, data_dir).start()
    try:
        with client(server.url, tokens["alice"]) as api:
            early = api.post("/api/v1/jobs", json={"fasta": ">early\nMKVLAAGIW\n", "num_recycles": 0}).json()
            assert wait_for_job(api, early["id"])["state"] == "done"
            early_pdb = api.get(f"/api/v1/jobs/{early['id']}/records/early/pdb").content
            job = api.post("/api/v1/jobs", json={"fasta": LONG_JOB, "num_recycles": 4}).json()
            wait_for_job(api, job["id"], states=("running",))
        [worker] = store.workers()
        server.kill()
        wait_dead(worker["pid"])
        assert store.job(AUDITOR, job["id"]).state == "running"  # as the crash left it
    finally:
        server.stop()

    restarted = cli_server(tiny_weights_dir, data_dir).start()
    try:
        with client(restarted.url, tokens["alice"]) as api:
            finished = wait_for_job(api, job["id"], timeout=180)
            assert finished["state"] == "done" and finished["progress"] == {"records_done": 3, "records": 3}
            assert [r["status"] for r in finished["records"]] == ["ok"] * 3
            for record in finished["records"]:
                pdb = api.get(f"/api/v1/jobs/{job['id']}/records/{record['id']}/pdb").text
                assert gemmi.read_pdb_string(pdb)[0].count_atom_sites() > 30
            assert api.get(f"/api/v1/jobs/{early['id']}/records/early/pdb").content == early_pdb
    finally:
        restarted.stop()
    kinds = [kind for kind, _ in store.events(job["id"])]
    assert kinds == ["submitted", "started", "requeued", "started", "done"]
    job_dir = ServeConfig(data_dir=data_dir).jobs_dir / job["id"]
    assert sorted(p.name for p in job_dir.iterdir()) == ["input.fasta", "result"]  # no half-written work left
    assert [kind for kind, _ in store.events(early["id"])] == ["submitted", "started", "done"]


def test_corrupt_and_oversized_uploads_leave_the_server_serving(tiny_server):
    with tiny_server.api("bob") as api:
        attempts = [
            api.post("/api/v1/jobs/upload", files={"file": ("x.fa.gz", b"\x1f\x8b\x08\x00\x00\x00broken")}),
            api.post("/api/v1/jobs/upload", files={"file": ("x.fa", os.urandom(4000))}),
            api.post("/api/v1/jobs/upload", files={"file": ("x.fa", b">a\n" + b"M" * 3_000_000)}),
            api.post("/api/v1/jobs/upload", content=b"--xx\r\nContent-Disposition: form-data; name=\"file\"",
                     headers={"content-type": "multipart/form-data; boundary=xx"}),  # fmt: skip
            api.post("/api/v1/jobs", content=b'{"fasta": "\xff\xfe', headers={"content-type": "application/json"}),
            api.post("/api/v1/jobs/1/records/a/compare", files={"reference": ("r.pdb", os.urandom(2000))}),
            api.post("/foldSequence/v1/pdb/", content=os.urandom(3000)),
        ]
        assert [a.status_code // 100 for a in attempts] == [4] * len(attempts), [a.text for a in attempts]
        assert all("detail" in a.json() for a in attempts)
        assert api.get("/health").json()["workers_alive"] == 1
        answer = api.post("/foldSequence/v1/pdb/?num_recycles=0", content=b"MKVLW")
        assert answer.status_code == 200 and "ATOM" in answer.text


def test_a_worker_killed_mid_job_is_restarted_and_the_job_requeued(tmp_path):
    """Only the worker dies (e.g. the GPU driver killed it): the server requeues and restarts it."""
    data_dir = tmp_path / "data"
    tokens = make_users(data_dir)
    store = Store(ServeConfig(data_dir=data_dir).database)
    server = ServerProcess([sys.executable, str(HERE / "fake_server.py"), "--fold-seconds", "3"], data_dir).start()
    try:
        with client(server.url, tokens["alice"]) as api:
            job = api.post("/api/v1/jobs", json={"fasta": ">a\nMKVLW\n"}).json()
            wait_for_job(api, job["id"], states=("running",))
            [worker] = store.workers()
            os.kill(worker["pid"], 9)
            assert wait_for_job(api, job["id"], timeout=60)["state"] == "done"
            assert api.get("/health").json()["workers_alive"] == 1
    finally:
        server.stop()
    assert [kind for kind, _ in store.events(job["id"])] == ["submitted", "started", "requeued", "started", "done"]
    assert store.workers()[0]["pid"] != worker["pid"]
