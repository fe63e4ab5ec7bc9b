"""``remyfold predict`` on a Dask cluster (``--scheduler tcp://HOST:PORT`` or ``--workers N``).

Needs the ``cluster`` extra (``pip install 'remyfold[cluster]'``: Dask ``distributed``).
Planning, skipping, ``summary.tsv`` and exit codes are those of :func:`remyfold.pipeline.run_predict`;
this package supplies the executor that folds the planned batches on Dask workers:

* :mod:`remyfold.cluster.plugin` — worker side: the model loaded once per worker, the fold task.
* :mod:`remyfold.cluster.driver` — client side: submission, fault handling, scheduler loss.

The output folder must be a filesystem path that the client and every worker see at the same
place (NFS, Lustre, GPFS...): workers write the outputs, the client writes ``summary.tsv``.
"""

from remyfold.cluster.driver import ClusterExecutor, require_distributed

__all__ = ["ClusterExecutor", "require_distributed"]
