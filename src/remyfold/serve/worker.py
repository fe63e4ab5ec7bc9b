"""The worker process: one per device, loads the model once, folds jobs one at a time.

The worker is one more :class:`remyfold.pipeline.BatchExecutor` user: a
:class:`~remyfold.pipeline.LocalExecutor` (the same loader and the same :func:`fold_batch` as
``remyfold predict``) loads the engine once; each claimed job is planned with
:func:`~remyfold.pipeline.make_batches` and its batches are folded by the executor, which
writes ``<id>.pdb``/``.cif``/``.json`` atomically into ``work-<attempt>/``. Progress is
recorded after every batch; the finished job's work folder is renamed to ``result/`` inside
the transaction that marks it done (:meth:`Store.finish`).

Cancelling: the executor hands the engine a stage callback (:class:`StopCheck`), called as each
stage starts (language model, every trunk pass, structure module) and before each batch (the
record boundary). When the job is no longer running in this attempt (cancelled, or taken over),
the callback raises :class:`JobStopped` and the fold ends there; the worker drops the work folder
and takes the next job. ``JobStopped`` is a ``BaseException`` so that the pipeline's per-record
retry of a failed batch (which catches ``Exception``) cannot swallow it.

Crash safety: a worker (or the whole server) may be killed at any moment. The job it ran
stays ``running`` and is put back in the queue when the server starts again (or when the
supervisor sees the worker die); its next attempt starts from a fresh work folder. If the
kill came after the rename but before the commit, the next attempt finds ``result/`` and
only finishes the job: a job is done exactly once and its results are written once.

The worker dies with its parent (``PR_SET_PDEATHSIG`` on Linux, plus a parent-pid check),
so a killed server never leaves a worker folding behind a restarted one.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import shutil
import signal
import sys
import time

from remyfold.errors import one_line
from remyfold.serve.config import ServeConfig
from remyfold.serve.results import INPUT_NAME, job_dir, result_dir
from remyfold.serve.store import Job, Store

HEARTBEAT_S = 5.0
#: Least time between two looks at the job's state from the engine's stage callback.
STOP_CHECK_S = 0.25


class JobStopped(BaseException):
    """The job stopped running in this attempt (cancelled or taken over): end its fold now."""


class StopCheck:
    """The engine's ``progress(stage)`` callback of one job: raises :class:`JobStopped` once the
    job no longer runs in this attempt (looks at the store at most every ``STOP_CHECK_S``)."""

    def __init__(self, store: Store, job: Job):
        self.store, self.job = store, job
        self._last = float("-inf")

    def __call__(self, stage: str = "") -> None:
        now = time.monotonic()
        if now - self._last < STOP_CHECK_S:
            return
        self._last = now
        if not self.store.still_running(self.job):
            raise JobStopped(stage)


def resolve_loader(spec: str):
    """``module:function`` → the function (a :class:`~remyfold.pipeline.FolderLoader`)."""
    module_name, _, function = spec.partition(":")
    return getattr(importlib.import_module(module_name), function)


def make_executor(config: ServeConfig):
    """The worker's executor: the predict pipeline's local executor with the server's loader."""
    from remyfold.pipeline import LocalExecutor

    return LocalExecutor(resolve_loader(config.loader) if config.loader else None)


def job_options(config: ServeConfig, device: str, out_dir, num_recycles: int | None = None):
    """The predict options of a job folded by this worker (``out_dir``: where its files go)."""
    from remyfold.pipeline import PredictOptions

    return PredictOptions(out_dir=out_dir, weights=config.weights, device=device, precision=config.precision,
                          num_recycles=num_recycles, chunk_size=config.chunk_size,
                          max_tokens_per_batch=config.max_tokens_per_batch, progress=False)  # fmt: skip


def worker_main(config: ServeConfig, device: str, name: str, parent_pid: int) -> None:
    """Entry point of a worker process (started by :class:`remyfold.serve.supervisor.WorkerPool`)."""
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    os.umask(0o077)  # results are private to the server's account
    store = Store(config.database)
    store.set_worker(name, device=device, pid=os.getpid(), state="starting")
    executor = make_executor(config)
    try:
        executor.start(config.weights, job_options(config, device, config.jobs_dir))
    except Exception as err:  # noqa: BLE001 - reported to the supervisor and /health in one line
        store.set_worker(name, device=device, pid=os.getpid(), state="failed", detail=one_line(err))
        sys.exit(3)
    store.set_worker(name, device=device, pid=os.getpid(), state="ready")
    beat = time.monotonic()
    while True:
        if os.getppid() != parent_pid:
            sys.exit(0)
        job = store.claim_next(name, weights_revision=config.weights_revision)
        if job is not None:
            store.set_worker(name, device=device, pid=os.getpid(), state="busy", detail=job.id)
            run_job(store, config, executor, device, job)
            store.set_worker(name, device=device, pid=os.getpid(), state="ready")
            beat = time.monotonic()
        elif time.monotonic() - beat > HEARTBEAT_S:
            store.set_worker(name, device=device, pid=os.getpid(), state="ready")
            beat = time.monotonic()
        else:
            time.sleep(config.poll_s)


def run_job(store: Store, config: ServeConfig, executor, device: str, job: Job) -> None:
    """Fold ``job`` and finish it (done, or failed with a one-line reason); stop early if cancelled."""
    final = result_dir(config, job.id)
    if final.is_dir():  # an earlier attempt got as far as the rename: only the commit is missing
        store.finish(job, lambda: None)
        return
    work = _fresh_work_dir(config, job)
    try:
        results = _fold(store, config, executor, device, job, work)
    except JobStopped:  # cancelled (or taken over) meanwhile
        shutil.rmtree(work, ignore_errors=True)
        return
    except Exception as err:  # noqa: BLE001 - any failure of the job is its one-line reason
        store.fail(job, one_line(err))
        shutil.rmtree(work, ignore_errors=True)
        return
    if not any(result.status == "ok" for result in results):
        store.fail(job, f"no record could be folded: {results[0].id}: {results[0].error}")
        shutil.rmtree(work, ignore_errors=True)
        return
    if not store.finish(job, lambda: os.rename(work, final)):
        shutil.rmtree(work, ignore_errors=True)


def _fold(store: Store, config: ServeConfig, executor, device: str, job: Job, work):
    """Fold every record into ``work`` with ``executor``; the results in input order.

    Raises :class:`JobStopped` when the job stops running (checked at every stage of the engine
    and before every batch).
    """
    from remyfold.io.prediction_folder import PredictionFolder
    from remyfold.sequence import make_batches, read_fasta

    records = read_fasta(job_dir(config, job.id) / INPUT_NAME, max_length=1 << 62)
    options = job_options(config, device, work, job.num_recycles)
    check = StopCheck(store, job)
    results = {}
    check()
    plan = make_batches(records, config.max_tokens_per_batch)
    for batch in executor.fold(plan, config.weights, options, stages=lambda _batch: check):
        for result in batch:
            results[result.id] = result
        if not store.still_running(job, records_done=len(results)):
            raise JobStopped("record")
    ordered = [results[record.id] for record in records]
    PredictionFolder(work).write_summary(ordered)
    return ordered


def _fresh_work_dir(config: ServeConfig, job: Job):
    """``work-<attempt>/``, empty; work folders of earlier attempts are removed."""
    base = job_dir(config, job.id)
    for old in base.glob("work-*"):
        shutil.rmtree(old, ignore_errors=True)
    work = base / f"work-{job.attempt}"
    work.mkdir(parents=True)
    return work


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass  # the parent-pid check in the loop still stops the worker
    if os.getppid() != parent_pid:
        sys.exit(0)
