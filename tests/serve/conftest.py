"""Servers for the ``remyfold serve`` tests, all real uvicorn on 127.0.0.1 and a random free port.

- ``tiny_server``: ``remyfold serve`` started from the command line with the tiny random model
  (one CPU worker), users alice, bob and root (admin). Shared by the API and browser tests.
- ``queue_server``: the app in a uvicorn thread of the test process, with no worker at all, so
  jobs stay queued (deterministic limits, cancelling, the Atlas endpoint's 202) and small limits;
  the fuzzing target.
- :class:`ServerProcess` starts (and SIGKILLs) server processes for the fault and load tests.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from remyfold.serve import EXTRA_MODULES
from remyfold.serve.config import Limits, ServeConfig

HERE = Path(__file__).resolve().parent
START_TIMEOUT_S = 120.0

MISSING = [name for name in (*EXTRA_MODULES, "httpx") if importlib.util.find_spec(name) is None]

if MISSING:
    # Without the serve extra each test file is reported as skipped, with the reason (and fails in CI).
    class MissingExtra(pytest.File):
        def collect(self):
            pytest.skip(f"needs the serve extra ({', '.join(MISSING)} missing): pip install 'remyfold[serve]' httpx")

    def pytest_pycollect_makemodule(module_path, parent):
        return MissingExtra.from_parent(parent, path=module_path)

else:
    import httpx

    from remyfold.serve.auth import add_user
    from remyfold.serve.store import Store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_users(data_dir: Path, names=("alice", "bob"), admin: str = "root") -> dict[str, str]:
    """Create accounts in ``data_dir``; ``{name: token}``."""
    ServeConfig(data_dir=data_dir).jobs_dir.mkdir(parents=True, exist_ok=True)
    store = Store(ServeConfig(data_dir=data_dir).database)
    tokens = {name: add_user(store, name)[1] for name in names}
    tokens[admin] = add_user(store, admin, admin=True)[1]
    store.engine.dispose()
    return tokens


def client(url: str, token: str | None = None, **kwargs) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, **{"timeout": 60, **kwargs})


def wait_for_job(api: httpx.Client, job_id: str, timeout: float = 90.0, states=("done", "failed", "cancelled")) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        time.sleep(0.2)
    raise TimeoutError(f"job {job_id} not in {states} after {timeout} s: {job}")


@dataclass
class ServerProcess:
    """A server process (``command`` gets ``--data`` and ``--port`` appended); its log in ``data_dir``."""

    command: list[str]
    data_dir: Path
    port: int = field(default_factory=free_port)
    env: dict | None = None
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ServerProcess":
        log = open(self.data_dir.parent / f"{self.data_dir.name}-server.log", "ab")
        env = {**os.environ, **(self.env or {})}
        args = [*self.command, "--data", str(self.data_dir), "--port", str(self.port)]
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        self.wait_ready()
        return self

    def wait_ready(self) -> dict:
        """Until ``/health`` answers and every worker has loaded its model."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {self.log_text()[-2000:]}")
            try:
                health = httpx.get(f"{self.url}/health", timeout=5).json()
                if health["ready"]:
                    return health
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"server not ready in {START_TIMEOUT_S} s: {self.log_text()[-2000:]}")

    def log_text(self) -> str:
        path = self.data_dir.parent / f"{self.data_dir.name}-server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def cli_server(weights: Path, data_dir: Path, *extra: str) -> ServerProcess:
    """``remyfold serve`` with the tiny model on one CPU worker, plain-http cookies."""
    command = [sys.executable, "-m", "remyfold.cli", "serve", "--weights", str(weights), "--device", "cpu",
               "--insecure-cookies", *extra]  # fmt: skip
    return ServerProcess(command, data_dir)


@dataclass
class RunningServer:
    url: str
    tokens: dict[str, str]
    data_dir: Path
    process: ServerProcess | None = None

    def api(self, user: str = "alice", **kwargs) -> httpx.Client:
        return client(self.url, self.tokens[user], **kwargs)


@pytest.fixture(scope="session")
def tiny_server(tiny_weights_dir, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("serve-tiny") / "data"
    tokens = make_users(data_dir)
    server = cli_server(tiny_weights_dir, data_dir, "--max-queued-jobs", "50", "--atlas-wait", "90")
    try:
        server.start()
        yield RunningServer(server.url, tokens, data_dir, server)
    finally:
        server.stop()


QUEUE_LIMITS = Limits(max_request_bytes=64 * 1024, max_residues=50, max_records=3, max_queued_jobs=3, max_recycles=8,
                      max_reference_bytes=1024 * 1024)


@pytest.fixture(scope="session")
def queue_server(tmp_path_factory):
    """The app without workers in a uvicorn thread (jobs stay queued)."""
    data_dir = tmp_path_factory.mktemp("serve-queue") / "data"
    tokens = make_users(data_dir, names=("alice", "bob", "carol", "fuzz"))
    config = ServeConfig(data_dir=data_dir, secure_cookies=False, atlas_wait_s=0.3, limits=QUEUE_LIMITS)
    with app_thread(config) as url:
        yield RunningServer(url, tokens, data_dir)


@contextlib.contextmanager
def app_thread(config: ServeConfig):
    """The app of ``config`` (no workers) served by uvicorn in a thread of this process; yields its URL."""
    import uvicorn

    from remyfold.serve.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(config, Store(config.database)), host="127.0.0.1", port=port,
                                           log_level="warning"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
