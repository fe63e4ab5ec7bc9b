"""Worker side of ``remyfold predict --scheduler/--workers``: one model per Dask worker, one fold at a time.

:class:`FolderPlugin` is a Dask ``WorkerPlugin``: when a worker joins (or the plugin is
registered), it loads the model once with the predict pipeline's own loader
(:class:`remyfold.pipeline.EngineLoader`) and keeps it for every task of the run.
:func:`fold_planned_batch` is the task: it folds one batch planned by
:func:`remyfold.pipeline.make_batches` and writes its files with
:func:`remyfold.pipeline.fold_batch` — the same code a single-process run uses.

A batch may run more than once (Dask re-runs the tasks of a worker that died). A re-run
does not fold or write again what the dead attempt already finished: records finished in
this run (``<id>.json`` present with the same sequence; with ``--overwrite``, also a run
marker ``<marker_dir>/<id>``) are read back as ``ok`` instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from pathlib import Path

from remyfold.sequence import FastaRecord
from remyfold.pipeline import PredictOptions, RecordResult, finished_result, fold_batch

PLUGIN_NAME = "remyfold-folder"

try:  # the base class gives Dask's default hooks; without the extra nothing here is reachable
    from distributed import WorkerPlugin
except ImportError:  # pragma: no cover - remyfold.cluster checks the extra before using this module
    WorkerPlugin = object


class FolderPlugin(WorkerPlugin):
    """Loads the folder once per worker (``setup``) and serialises folds on it (``lock``).

    ``spread_gpus``: a local cluster with ``--device cuda`` (or ``auto`` on a GPU machine) puts
    worker ``k`` on GPU ``k mod count`` (on a SLURM/Kubernetes cluster each worker already sees only its GPU).
    A load error is kept and raised by every task, so the client reports it in one line.
    """

    name = PLUGIN_NAME

    def __init__(self, loader, weights, options: PredictOptions, *, spread_gpus: bool = False):
        self.loader, self.weights, self.options, self.spread_gpus = loader, weights, options, spread_gpus
        self.folder = None
        self.error: BaseException | None = None
        self.lock = threading.Lock()

    async def setup(self, worker) -> None:
        """Load the model in a thread, so that the worker keeps answering the scheduler meanwhile."""
        await asyncio.get_running_loop().run_in_executor(None, self._load, worker.name)

    def _load(self, worker_name) -> None:
        options = self.options
        if self.spread_gpus and options.device in ("auto", "cuda") and isinstance(worker_name, int):
            import torch

            if torch.cuda.is_available():
                options = dataclasses.replace(options, device=f"cuda:{worker_name % torch.cuda.device_count()}")
        try:
            self.folder = self.loader(self.weights, options)
        except Exception as err:  # noqa: BLE001 - raised again, with its one-line message, by each task
            self.error = err

    def teardown(self, worker) -> None:
        self.folder = None
        if self.options.device != "cpu":
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()

    def __getstate__(self):
        state = dict(self.__dict__)
        state.update(folder=None, error=None, lock=None)  # a model, an error and a lock stay on their worker
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.lock = threading.Lock()


def worker_plugin() -> FolderPlugin:
    """This worker's :class:`FolderPlugin` (raises its load error, if loading failed)."""
    from distributed import get_worker

    plugin = get_worker().plugins.get(PLUGIN_NAME)
    if plugin is None:
        raise RuntimeError("this Dask worker has no remyfold model loaded (the plugin was not registered)")
    if plugin.error is not None:
        raise plugin.error
    return plugin


def fold_planned_batch(batch: list[FastaRecord], options: PredictOptions, marker_dir: str | None) -> list[RecordResult]:
    """The Dask task: fold and write one planned batch on this worker; its results in batch order.

    Records a dead earlier attempt of this task already finished are returned ``ok`` from their
    files; the others are folded together by :func:`remyfold.pipeline.fold_batch`.
    """
    plugin = worker_plugin()
    done = {record.id: _finished_in_this_run(record, options, marker_dir) for record in batch}
    todo = [record for record in batch if done[record.id] is None]
    if todo:
        with plugin.lock:  # one fold at a time on this worker's model (and GPU)
            folded = fold_batch(plugin.folder, todo, options)
        for result in folded:
            done[result.id] = result
            if marker_dir is not None and result.status == "ok":
                (Path(marker_dir) / result.id).touch()
    return [done[record.id] for record in batch]


def _finished_in_this_run(record: FastaRecord, options: PredictOptions, marker_dir: str | None) -> RecordResult | None:
    """An ``ok`` row if ``record`` was finished since the run started, else ``None``."""
    if options.overwrite and (marker_dir is None or not (Path(marker_dir) / record.id).exists()):
        return None
    done = finished_result(record, options.out_dir)
    return None if done is None else dataclasses.replace(done, status="ok")
