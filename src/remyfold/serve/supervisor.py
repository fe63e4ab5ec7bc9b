"""The server's side of the workers: start one process per device, restart the ones that die.

A worker that exits while the server runs had its job (if any) put back in the queue
(:meth:`Store.requeue_running` for that worker's name) and is started again after a pause
that doubles on every quick failure (up to a minute), so a model that cannot load does not
spin. Workers are started with the ``spawn`` method: a clean interpreter that imports torch
itself, never a fork of the web server's threads.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time

from remyfold.serve.config import ServeConfig
from remyfold.serve.store import Store
from remyfold.serve.worker import worker_main

log = logging.getLogger("remyfold.serve")
MAX_BACKOFF_S = 60.0


class WorkerPool:
    """One worker process per configured device, watched by a background thread."""

    def __init__(self, config: ServeConfig, store: Store):
        self.config, self.store = config, store
        self._context = multiprocessing.get_context("spawn")
        self._names = [f"worker-{i}-{device}" for i, device in enumerate(config.devices)]
        self._processes: dict[str, multiprocessing.Process] = {}
        self._backoff = {name: 1.0 for name in self._names}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="remyfold-workers", daemon=True)

    def start(self) -> None:
        for name, device in zip(self._names, self.config.devices):
            self._spawn(name, device)
        self._thread.start()

    def _spawn(self, name: str, device: str) -> None:
        process = self._context.Process(
            target=worker_main, args=(self.config, device, name, os.getpid()), name=name, daemon=True
        )
        process.start()
        self._processes[name] = process
        log.info("started %s (pid %s) on %s", name, process.pid, device)

    def _watch(self) -> None:
        started = {name: time.monotonic() for name in self._names}
        while not self._stopping.wait(0.5):
            for name, device in zip(self._names, self.config.devices):
                process = self._processes[name]
                if process.is_alive() or self._stopping.is_set():
                    continue
                requeued = self.store.requeue_running(name)
                quick = time.monotonic() - started[name] < MAX_BACKOFF_S
                self._backoff[name] = min(self._backoff[name] * 2, MAX_BACKOFF_S) if quick else 1.0
                log.warning("%s exited (code %s); %d job(s) requeued; restarting in %.0f s",
                            name, process.exitcode, requeued, self._backoff[name])  # fmt: skip
                if self._stopping.wait(self._backoff[name]):
                    return
                self._spawn(name, device)
                started[name] = time.monotonic()

    def alive(self) -> int:
        return sum(process.is_alive() for process in self._processes.values())

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the workers (SIGTERM, then SIGKILL); a job they were running is requeued at next start."""
        self._stopping.set()
        for process in self._processes.values():
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + timeout
        for process in self._processes.values():
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
