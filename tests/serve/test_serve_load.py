"""Load: 50 concurrent clients submit 200 jobs in all to a server with a fake engine (this is
about the queue, not folding) and two workers racing to claim jobs: every job done, none lost
or duplicated, each started and finished once.

Latency percentiles come from the same driver run as a benchmark (``bench/serve/serve_load.py``,
results in ``bench/results/``), never asserted here.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from conftest import HERE, ServerProcess, client, make_users

from remyfold.serve.config import ServeConfig
from remyfold.serve.store import Store, User

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "serve"))

from serve_load import job_fasta, run_load  # noqa: E402

CLIENTS, JOBS = 50, 200


def test_fifty_clients_two_hundred_jobs_none_lost_or_duplicated(tmp_path):
    data_dir = tmp_path / "data"
    tokens = make_users(data_dir, names=tuple(f"user{i}" for i in range(10)))
    command = [sys.executable, str(HERE / "fake_server.py"), "--fold-seconds", "0.01", "--workers", "2"]
    server = ServerProcess(command, data_dir).start()
    try:
        out = run_load(server.url, [tokens[f"user{i}"] for i in range(10)], clients=CLIENTS, jobs=JOBS, timeout_s=240)
        with client(server.url, tokens["root"]) as admin:
            listed = admin.get("/api/v1/jobs", params={"limit": 1000}).json()
            sample = admin.get(f"/api/v1/jobs/{out['submitted'][0]}").json()
    finally:
        server.stop()
    assert out["errors"] == []
    assert len(out["submitted"]) == JOBS and len(set(out["submitted"])) == JOBS
    assert Counter(out["states"].values()) == {"done": JOBS}
    assert sorted(job["id"] for job in listed) == sorted(out["submitted"])  # nothing extra, nothing twice
    assert Counter(job["user"] for job in listed) == {f"user{i}": JOBS // 10 for i in range(10)}
    store = Store(ServeConfig(data_dir=data_dir).database)
    root = User(0, "root", True)
    for job_id in out["submitted"]:  # two workers raced for every claim: each job started and finished once
        assert [kind for kind, _ in store.events(job_id)] == ["submitted", "started", "done"]
        assert store.job(root, job_id).records_done == store.job(root, job_id).n_records
    assert {job.worker for job in store.jobs(root, limit=1000)} == {"worker-0-cpu", "worker-1-cpu"}
    assert [r["status"] for r in sample["records"]] == ["ok"] * sample["progress"]["records"]
    assert all(len(out["latency"][kind]) >= JOBS for kind in ("submit", "status"))
    assert job_fasta(3).count(">") == 2 and ":" in job_fasta(3)
