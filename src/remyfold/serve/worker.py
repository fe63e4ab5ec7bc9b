"""The worker process: one per device, loads the model once, folds jobs one at a time.

Loop of :func:`worker_main`: claim the next job (:meth:`Store.claim_next`, fair between
users), fold it with the predict pipeline (:func:`remyfold.pipeline.make_batches` /
:func:`~remyfold.pipeline.fold_batch`, which writes ``<id>.pdb``/``.cif``/``.json``
atomically into ``work-<attempt>/``), record progress after every batch, and finish it:
the work folder is renamed to ``result/`` inside the transaction that marks the job done
(:meth:`Store.finish`). A job cancelled meanwhile is dropped at the next batch.

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


def load_folder(config: ServeConfig, device: str):
    """The default engine: :class:`remyfold.api.Folder` with the server's weights on ``device``."""
    from remyfold.api import Folder

    return Folder.from_pretrained(config.weights, device=device, precision=config.precision,
                                  chunk_size=config.chunk_size)  # fmt: skip


def resolve_loader(spec: str):
    """``module:function`` → the function."""
    module_name, _, function = spec.partition(":")
    return getattr(importlib.import_module(module_name), function)


def worker_main(config: ServeConfig, device: str, name: str, parent_pid: int) -> None:
    """Entry point of a worker process (started by :class:`remyfold.serve.supervisor.WorkerPool`)."""
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    store = Store(config.database)
    store.set_worker(name, device=device, pid=os.getpid(), state="starting")
    try:
        folder = resolve_loader(config.loader)(config, device)
    except Exception as err:  # noqa: BLE001 - reported to the supervisor and /health in one line
        store.set_worker(name, device=device, pid=os.getpid(), state="failed", detail=one_line(err))
        sys.exit(3)
    store.set_worker(name, device=device, pid=os.getpid(), state="ready")
    beat = time.monotonic()
    while True:
        if os.getppid() != parent_pid:
            sys.exit(0)
        job = store.claim_next(name)
        if job is not None:
            store.set_worker(name, device=device, pid=os.getpid(), state="busy", detail=job.id)
            run_job(store, config, folder, job)
            store.set_worker(name, device=device, pid=os.getpid(), state="ready")
            beat = time.monotonic()
        elif time.monotonic() - beat > HEARTBEAT_S:
            store.set_worker(name, device=device, pid=os.getpid(), state="ready")
            beat = time.monotonic()
        else:
            time.sleep(config.poll_s)


def run_job(store: Store, config: ServeConfig, folder, job: Job) -> None:
    """Fold ``job`` and finish it (done, or failed with a one-line reason)."""
    final = result_dir(config, job.id)
    if final.is_dir():  # an earlier attempt got as far as the rename: only the commit is missing
        store.finish(job, lambda: None)
        return
    work = _fresh_work_dir(config, job)
    try:
        results = _fold(store, config, folder, job, work)
    except Exception as err:  # noqa: BLE001 - any failure of the job is its one-line reason
        store.fail(job, one_line(err))
        shutil.rmtree(work, ignore_errors=True)
        return
    if results is None:  # cancelled (or taken over) meanwhile
        shutil.rmtree(work, ignore_errors=True)
        return
    if not any(result.status == "ok" for result in results):
        store.fail(job, f"no record could be folded: {results[0].id}: {results[0].error}")
        shutil.rmtree(work, ignore_errors=True)
        return
    if not store.finish(job, lambda: os.rename(work, final)):
        shutil.rmtree(work, ignore_errors=True)


def _fold(store: Store, config: ServeConfig, folder, job: Job, work):
    """Fold every record into ``work``; the results in input order, or ``None`` if the job stopped."""
    from remyfold.sequence import read_fasta
    from remyfold.io.prediction_folder import PredictionFolder
    from remyfold.pipeline import PredictOptions, fold_batch
    from remyfold.sequence import make_batches

    records = read_fasta(job_dir(config, job.id) / INPUT_NAME, max_length=1 << 62)
    options = PredictOptions(out_dir=work, weights=config.weights, num_recycles=job.num_recycles,
                             max_tokens_per_batch=config.max_tokens_per_batch, progress=False)  # fmt: skip
    results = {}
    for batch in make_batches(records, config.max_tokens_per_batch):
        if not store.still_running(job):
            return None
        for result in fold_batch(folder, batch, options):
            results[result.id] = result
        if not store.still_running(job, records_done=len(results)):
            return None
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
