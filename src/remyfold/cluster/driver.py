"""Client side of ``remyfold predict --scheduler/--workers``: planned batches as Dask tasks.

:class:`ClusterExecutor` is a :class:`remyfold.pipeline.BatchExecutor`: ``run_predict`` plans
the batches, skips finished records, keeps ``summary.tsv`` and the progress bar exactly as in
a single-process run; this class only moves each batch to a worker and its results back.

Algorithm of :meth:`ClusterExecutor.fold`:

1. Register :class:`~remyfold.cluster.plugin.FolderPlugin` (each worker loads the model once).
2. Submit one task per batch, larger batches first (by ``batch size × longest folded length``),
   each needing ``GPU=1`` when the device is CUDA (workers started with ``--resources GPU=1``:
   one fold at a time per GPU). Only as many tasks as the cluster has fold slots (GPUs, or
   workers on the CPU) are in flight: the order is exact, and when a worker dies no innocent
   batch waiting in its queue is blamed for the death.
3. Yield the results of the batches finished since the last look (all at once: one
   ``summary.tsv`` rewrite for them). A worker that dies mid-batch has its batch re-run
   elsewhere by the scheduler (``distributed.scheduler.allowed-failures`` times); after that
   (``KilledWorker``) a batch of several records is split into one task per record, and a single
   record is reported ``failed`` with the reason. A task that raises a
   :class:`~remyfold.errors.RemyfoldError` (weights or device unusable on the worker) stops the
   run with its one-line message; a lost scheduler stops it with a :class:`ClusterError`.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import sys
import uuid
from pathlib import Path

from remyfold.cluster.plugin import FolderPlugin, fold_planned_batch
from remyfold.devices import check_device
from remyfold.errors import ClusterError, RemyfoldError, install_command
from remyfold.pipeline import EngineLoader, PredictOptions, failed_result
from remyfold.sequence import folded_length

#: Worker deaths tolerated per task before Dask gives up on it (for ``--workers``; an external
#: scheduler uses its own ``distributed.scheduler.allowed-failures`` setting, default 3).
ALLOWED_FAILURES = 3
MARKER_ROOT = ".remyfold-cluster"
#: Dask settings of a ``--workers`` cluster. Dask's nanny starts workers with a fixed glibc trim threshold
#: (``MALLOC_TRIM_THRESHOLD_=65536``), which makes torch on the CPU 2.4× slower
#: (bench/results/cluster-cpu-tiny-dask-malloc-trim.md):
#: it is left unset here; set it to null the same way for an external CPU cluster (README).
LOCAL_CLUSTER_CONFIG = {
    "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}
#: Dask's network protocols accepted in ``--scheduler`` addresses.
SCHEDULER_PROTOCOLS = ("tcp", "tls", "ws", "wss", "ucx")
#: Seconds between looks for newly joined workers while no batch finishes.
POLL_SECONDS = 2.0


def require_distributed() -> None:
    """Raise a one-line :class:`ClusterError` when the ``cluster`` extra is not installed."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ClusterError("--scheduler/--workers need Dask distributed, the remyfold[cluster] extra: "
                           f"{install_command('cluster')}") from None


def check_scheduler_address(address: str) -> None:
    """Raise a one-line :class:`ClusterError` unless ``address`` is ``[PROTOCOL://]HOST:PORT`` with a Dask protocol.

    Checked before connecting: Dask's client, given a malformed address, fails and then hangs
    for a minute in its finaliser.
    """
    protocol, sep, location = address.strip().rpartition("://")
    host, _, port = location.rpartition(":")
    if (protocol if sep else "tcp") not in SCHEDULER_PROTOCOLS or not host or not port.isdigit() \
            or not 1 <= int(port) <= 65535:
        raise ClusterError(f"--scheduler {address!r} is not a Dask scheduler address; give HOST:PORT or "
                           f"PROTOCOL://HOST:PORT ({'/'.join(SCHEDULER_PROTOCOLS)}), e.g. tcp://10.0.0.5:8786")


class ClusterExecutor:
    """Folds planned batches on a Dask cluster: an existing one (``scheduler``) or ``workers`` local processes.

    Use as a context manager: the client (and a local cluster) are closed on exit.
    """

    def __init__(self, *, scheduler: str | None = None, workers: int | None = None, loader=None,
                 verbose: bool = True):  # fmt: skip
        if (scheduler is None) == (workers is None):
            raise ClusterError("give either --scheduler ADDRESS or --workers N")
        if workers is not None and workers < 1:
            raise ClusterError(f"--workers {workers}: must be 1 or more")
        if scheduler is not None:
            check_scheduler_address(scheduler)
        require_distributed()
        self.loader = loader if loader is not None else EngineLoader()
        self.scheduler, self.workers, self.verbose = scheduler, workers, verbose
        self.client = self.cluster = None
        self.address = scheduler
        self._log_levels: dict[str, int] = {}

    def __enter__(self) -> "ClusterExecutor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def check(self, options: PredictOptions) -> None:
        """Connect (or start the local cluster) now, so that an unreachable scheduler fails before any work."""
        if self.client is None:
            if self.workers is not None:  # local workers use this machine's devices: check before any output
                check_device(options.device)
            self._quiet_dask_logs()
            self.client = self._start_local(options) if self.workers is not None else self._connect()
            self.address = self.client.scheduler.address
            link = self.client.dashboard_link if self._has_dashboard() else None
            self._say(f"Dask scheduler {self.address}" + (f", dashboard {link}" if link else ""))

    def start(self, weights, options: PredictOptions) -> None:
        """Nothing to load in the client: each worker loads the model once (FolderPlugin) when :meth:`fold` registers it."""

    def fold(self, batches, weights, options: PredictOptions, stages=None):
        """Run ``batches`` on the cluster; yield the results of the batches finished since the last look.

        ``stages`` is not used: the engine's stages run on remote workers, so the client's bar counts
        finished records only.
        """
        self.check(options)
        options = dataclasses.replace(options, out_dir=options.out_dir.resolve())  # workers have other cwds
        weights = dataclasses.replace(weights, directory=Path(weights.directory).resolve())
        marker_dir = _make_marker_dir(options.out_dir) if options.overwrite else None
        try:
            self._register(FolderPlugin(self.loader, weights, options, spread_gpus=self.cluster is not None), options)
            yield from self._run(batches, options, marker_dir)
        finally:
            if marker_dir is not None:
                _remove_marker_dir(marker_dir)

    def _register(self, plugin: FolderPlugin, options: PredictOptions) -> None:
        """Send the plugin to the scheduler; the workers there load the model now, later ones when they join."""
        from distributed import CancelledError

        try:
            self.client.register_plugin(plugin)
            if not self.client.scheduler_info().get("workers"):
                self._say("waiting for Dask workers to join the scheduler")
        except (CancelledError, OSError):
            raise self._lost(options) from None

    def _run(self, batches, options: PredictOptions, marker_dir: Path | None):
        """Keep one batch per fold slot in flight, larger batches first; yield results as batches finish."""
        from distributed import CancelledError, wait

        run = uuid.uuid4().hex[:12]
        order = sorted(range(len(batches)), key=lambda i: (_cost(batches[i]), -i))  # pop() takes the largest
        queue = [(f"remyfold-{run}-{i}", batches[i]) for i in order]
        running: dict = {}  # future -> its batch
        while queue or running:
            slots = self._slots(options)
            while queue and len(running) < slots:
                key, batch = queue.pop()
                running[self._submit(batch, options, marker_dir, key)] = batch
            try:
                with self.client.as_current():
                    done = wait(list(running), timeout=POLL_SECONDS, return_when="FIRST_COMPLETED").done
            except TimeoutError:  # nothing finished yet: look again for workers that joined
                continue
            except (CancelledError, OSError):  # the client cancels every future when it loses the scheduler
                raise self._lost(options) from None
            # All batches finished since the last look, as one: the client rewrites summary.tsv once for them,
            # so a client slower than the cluster falls behind by one rewrite at most, not by one per batch.
            finished = [r for future in done for r in self._outcome(future, running.pop(future), queue, options)]
            if finished:
                yield finished

    def _outcome(self, future, batch, queue: list, options: PredictOptions) -> list:
        """The results of a finished task; a lost scheduler, a ``RemyfoldError`` or a killed batch otherwise."""
        from distributed import CancelledError, KilledWorker

        try:
            results = future.result() if future.status == "finished" else None
            err = future.exception() if future.status == "error" else None
        except (CancelledError, OSError):  # finished, but the scheduler went away before its results came back
            raise self._lost(options) from None
        if results is not None:
            return results
        if err is None:  # cancelled: the client lost the scheduler
            raise self._lost(options)
        if isinstance(err, RemyfoldError):
            raise err
        if isinstance(err, KilledWorker) and len(batch) > 1:  # one task per record: find the one that kills
            queue.extend((f"{future.key}-{j}", [record]) for j, record in enumerate(batch))
            return []
        return [failed_result(record, err) for record in batch]

    def _slots(self, options: PredictOptions) -> int:
        """Folds the cluster can run at once: its GPUs (``GPU`` resources) for CUDA, else its workers; at least 1."""
        try:
            workers = self.client.scheduler_info()["workers"].values()
        except Exception:  # noqa: BLE001 - any failure to reach the scheduler here means it is gone
            raise self._lost(options) from None
        if options.device.startswith("cuda"):
            return max(sum(int(w.get("resources", {}).get("GPU", 0)) for w in workers), 1)
        return max(len(workers), 1)

    def _lost(self, options: PredictOptions) -> ClusterError:
        return ClusterError(f"lost the Dask scheduler {self.address}; finished records are kept in "
                            f"{options.out_dir}; run the same command again to resume")  # fmt: skip

    def _submit(self, batch, options, marker_dir, key: str):
        resources = {"GPU": 1} if options.device.startswith("cuda") else None
        return self.client.submit(fold_planned_batch, batch, options, None if marker_dir is None else str(marker_dir),
                                  key=key, pure=False, resources=resources)  # fmt: skip

    def _connect(self):
        """A client of the scheduler at ``self.scheduler`` (Dask's connect timeout, ``distributed.comm.timeouts.connect``)."""
        from distributed import Client

        try:
            return Client(self.scheduler, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as err:
            reason = " ".join(str(err).split()) or type(err).__name__
            raise ClusterError(f"--scheduler {self.scheduler}: cannot connect ({reason}); "
                               "start a Dask scheduler there or check the address") from None  # fmt: skip

    def _start_local(self, options: PredictOptions):
        """``self.workers`` worker processes on this machine, one thread each, all traffic on 127.0.0.1."""
        import dask
        from distributed import Client, LocalCluster

        gpu = {"GPU": 1} if options.device.startswith("cuda") else None
        with dask.config.set(LOCAL_CLUSTER_CONFIG):
            self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                        host="127.0.0.1", dashboard_address="127.0.0.1:0", resources=gpu,
                                        silence_logs=logging.CRITICAL)  # fmt: skip
        return Client(self.cluster, set_as_default=False)

    def _has_dashboard(self) -> bool:
        return "dashboard" in self.client.scheduler_info().get("services", {})

    def _quiet_dask_logs(self) -> None:
        """Dask's own log lines (reconnect attempts, worker deaths) would drown the one-line errors."""
        names = ["distributed", *(n for n in logging.root.manager.loggerDict if n.startswith("distributed."))]
        self._log_levels = {name: logging.getLogger(name).level for name in names}
        for name in names:
            logging.getLogger(name).setLevel(logging.CRITICAL)

    def _say(self, line: str) -> None:
        if self.verbose:
            print(f"remyfold predict: {line}", file=sys.stderr)

    def close(self) -> None:
        """Close the client and the local cluster (if any); idempotent."""
        for closable in (self.client, self.cluster):
            if closable is not None:
                try:
                    closable.close()
                except Exception:  # noqa: BLE001 - already gone with the scheduler
                    pass
        self.client = self.cluster = None
        for name, level in self._log_levels.items():
            logging.getLogger(name).setLevel(level)
        self._log_levels = {}


def _cost(batch) -> int:
    """Padded tokens of a batch: ``len(batch) × longest folded length`` (the planner's budget measure)."""
    return len(batch) * max(folded_length(record) for record in batch)


def _make_marker_dir(out_dir: Path) -> Path:
    """``DIR/.remyfold-cluster/<run>/``: which records this ``--overwrite`` run finished (removed at the end)."""
    path = out_dir / MARKER_ROOT / uuid.uuid4().hex[:12]
    path.mkdir(parents=True)
    return path


def _remove_marker_dir(marker_dir: Path) -> None:
    """Remove this run's markers, and ``DIR/.remyfold-cluster`` when no other run uses it."""
    shutil.rmtree(marker_dir, ignore_errors=True)
    try:
        marker_dir.parent.rmdir()
    except OSError:  # another --overwrite run into the same folder is still going
        pass
