"""Load on ``remyfold serve``: many concurrent clients submit jobs and poll them; API latency while busy.

``run_load`` drives an already running server: ``clients`` threads (each with its own HTTP
connection, users taken round-robin from ``tokens``) submit ``jobs`` jobs in all, then poll
their jobs' status and their job list until every job has finished. It records every request's
latency by kind (submit, status, list) and returns the submitted ids and final states, so a
caller can check that no job was lost or duplicated (``tests/serve/test_serve_load.py`` does).

``main`` starts a server itself — the fake engine of ``tests/serve/fake_server.py`` (the queue,
store, files and API run for real; only the network is skipped), or the tiny random model — and
writes ``bench/results/serve-load-<engine>.json`` and ``.md`` with the latency percentiles,
machine, commit and date::

    .venv/bin/python bench/serve/serve_load.py --engine fake --clients 50 --jobs 200
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
TERMINAL = ("done", "failed", "cancelled")
POLL_S = 0.5  # each client's pause between polling rounds
AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"


def job_fasta(index: int) -> str:
    """A small job: one or two records of 8–20 residues (every third job a two-chain complex)."""
    rng = np.random.default_rng(index)
    seq = lambda n: "".join(rng.choice(list(AMINO_ACIDS), n))  # noqa: E731
    records = [f">j{index}a\n{seq(int(rng.integers(8, 20)))}\n"]
    if index % 2:
        records.append(f">j{index}b\n{seq(8)}:{seq(6)}\n" if index % 3 == 0 else f">j{index}b\n{seq(12)}\n")
    return "".join(records)


@dataclass
class ClientResult:
    """What one client saw: its job ids, their final states, its errors, latencies (s) by request kind."""

    submitted: list[str] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    latency: dict[str, list[float]] = field(default_factory=lambda: {"submit": [], "status": [], "list": []})


def _client_run(url: str, token: str, job_indices: list[int], out: dict, lock: threading.Lock, timeout_s: float):
    """One client: submit its jobs, then poll them (status + list) until they all finished."""
    result = ClientResult()
    try:
        _submit_and_poll(url, token, job_indices, timeout_s, result)
    except httpx.HTTPError as err:  # a transport failure is a result of the run, not a crash of the driver
        result.errors.append(f"{type(err).__name__}: {err}")
    with lock:
        out["submitted"].extend(result.submitted)
        out["states"].update(result.states)
        out["errors"].extend(result.errors)
        for kind, values in result.latency.items():
            out["latency"][kind].extend(values)


def _submit_and_poll(url: str, token: str, job_indices: list[int], timeout_s: float, result: ClientResult) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as api:

        def timed(kind, method, path, **kwargs):
            start = time.perf_counter()
            answer = api.request(method, path, **kwargs)
            result.latency[kind].append(time.perf_counter() - start)
            return answer

        for index in job_indices:
            answer = timed("submit", "POST", "/api/v1/jobs", json={"fasta": job_fasta(index), "num_recycles": 0})
            if answer.status_code == 201:
                result.submitted.append(answer.json()["id"])
            else:
                result.errors.append(f"submit {index}: {answer.status_code} {answer.text[:200]}")
        deadline = time.monotonic() + timeout_s
        while len(result.states) < len(result.submitted) and time.monotonic() < deadline:
            for job_id in [j for j in result.submitted if j not in result.states]:
                job = timed("status", "GET", f"/api/v1/jobs/{job_id}").json()
                if job["state"] in TERMINAL:
                    result.states[job_id] = job["state"]
            timed("list", "GET", "/api/v1/jobs")
            time.sleep(POLL_S)


def run_load(url: str, tokens: list[str], *, clients: int = 50, jobs: int = 200, timeout_s: float = 300) -> dict:
    """Run the load; ``{"submitted": [ids], "states": {id: state}, "errors": [...], "latency": {...}, "wall_s"}``."""
    out = {"submitted": [], "states": {}, "errors": [], "latency": {"submit": [], "status": [], "list": []}}
    lock = threading.Lock()
    shares = [list(range(c, jobs, clients)) for c in range(clients)]
    threads = [
        threading.Thread(target=_client_run, args=(url, tokens[c % len(tokens)], shares[c], out, lock, timeout_s))
        for c in range(clients)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out["wall_s"] = time.perf_counter() - start
    return out


def percentiles(values: list[float]) -> dict:
    """Count and p50/p90/p99/max in milliseconds."""
    if not values:
        return {"n": 0}
    ms = np.asarray(values) * 1000
    return {"n": int(ms.size), **{f"p{q}": round(float(np.percentile(ms, q)), 1) for q in (50, 90, 99)},
            "max": round(float(ms.max()), 1)}  # fmt: skip


def _start_server(engine: str, data_dir: Path, port: int):
    """The server process of the benchmark (fake engine, or the tiny random model on the CPU)."""
    if engine == "fake":
        command = [sys.executable, str(ROOT / "tests" / "serve" / "fake_server.py")]
    else:
        sys.path.insert(0, str(ROOT / "tests" / "support"))
        from tiny_models import make_reference, save_reference

        weights = save_reference(make_reference(seed=0), data_dir.parent / "tiny")
        command = [sys.executable, "-m", "remyfold.cli", "serve", "--weights", str(weights), "--device", "cpu",
                   "--insecure-cookies", "--max-queued-jobs", "100"]  # fmt: skip
    process = subprocess.Popen([*command, "--data", str(data_dir), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()["ready"]:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("the server did not start")


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("fake", "tiny"), default="fake")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args(argv)
    from remyfold.serve.auth import add_user
    from remyfold.serve.config import ServeConfig
    from remyfold.serve.store import Store

    load_before = [round(x, 1) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="remyfold-serve-load-") as tmp:
        data_dir = Path(tmp) / "data"
        ServeConfig(data_dir=data_dir).jobs_dir.mkdir(parents=True)
        store = Store(ServeConfig(data_dir=data_dir).database)
        tokens = [add_user(store, f"user{i}")[1] for i in range(args.users)]
        process = _start_server(args.engine, data_dir, args.port)
        try:
            out = run_load(f"http://127.0.0.1:{args.port}", tokens, clients=args.clients, jobs=args.jobs)
        finally:
            process.terminate()
            process.wait(timeout=30)
    report = {
        "engine": args.engine, "poll_s": POLL_S, "clients": args.clients, "jobs": args.jobs, "users": args.users,
        "done": sum(state == "done" for state in out["states"].values()), "submitted": len(out["submitted"]),
        "unique": len(set(out["submitted"])), "errors": out["errors"][:10], "wall_s": round(out["wall_s"], 2),
        "jobs_per_s": round(len(out["states"]) / out["wall_s"], 2),
        "latency_ms": {kind: percentiles(values) for kind, values in out["latency"].items()},
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "cpus": os.cpu_count(),
        "load_average_before": load_before, "python": platform.python_version(),
        "commit": _commit(), "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"serve-load-{args.engine}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
    return 0 if report["done"] == args.jobs == report["unique"] else 1


def markdown(report: dict) -> str:
    lines = [
        f"`remyfold serve` under load: {report['clients']} concurrent clients, {report['jobs']} jobs "
        f"({report['users']} users; each job 1–2 records of 6–20 residues, 0 recycles), engine `{report['engine']}`, "
        f"one worker; each client polls its jobs and its job list every {report.get('poll_s', POLL_S)} s. "
        f"{report['machine']} with "
        f"{report['cpus']} CPUs (load average before the run {report['load_average_before']}), Python "
        f"{report['python']}, commit `{report['commit']}`, {report['date']}.",
        "",
        f"Done {report['done']} of {report['jobs']} (submitted {report['submitted']}, unique ids {report['unique']}); "
        f"wall {report['wall_s']} s, {report['jobs_per_s']} jobs/s.",
        "",
        "API latency while the worker is busy (ms):",
        "",
        "| request | n | p50 | p90 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, stats in report["latency_ms"].items():
        lines.append(f"| {kind} | {stats['n']} | {stats.get('p50')} | {stats.get('p90')} | {stats.get('p99')} | "
                     f"{stats.get('max')} |")  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
