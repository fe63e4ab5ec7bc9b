"""Dask worker preload used by tests/cluster/test_cluster.py (``dask worker --preload``), not by remyfold.

It lets the test see and steer what the worker does, without hooks in remyfold itself:

* every output file written through :func:`remyfold.io.prediction_folder.write_text_atomic` and every
  fold started (``Folder.fold_batch``) is appended, one line each, to ``$REMYFOLD_TEST_LOG``:
  ``write <pid> <file name>`` / ``fold <pid> <id,id,...>``;
* while the file ``$REMYFOLD_TEST_LOG.slow`` exists, each fold first sleeps that many seconds
  (time for the test to kill this worker mid-batch);
* a batch holding a record whose id starts with ``poison`` kills its worker process.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def _log(line: str) -> None:
    fd = os.open(os.environ["REMYFOLD_TEST_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def dask_setup(worker) -> None:
    from remyfold.api import Folder
    from remyfold.io import prediction_folder

    write_text_atomic, fold_batch = prediction_folder.write_text_atomic, Folder.fold_batch

    def logged_write(path, text):
        write_text_atomic(path, text)
        _log(f"write {os.getpid()} {Path(path).name}")

    def logged_fold(self, records, **kwargs):
        ids = [record_id for record_id, _ in records]
        _log(f"fold {os.getpid()} {','.join(ids)}")
        slow = Path(os.environ["REMYFOLD_TEST_LOG"] + ".slow")
        if slow.exists():
            time.sleep(float(slow.read_text()))
        if any(record_id.startswith("poison") for record_id in ids):
            os._exit(1)
        return fold_batch(self, records, **kwargs)

    prediction_folder.write_text_atomic = logged_write
    Folder.fold_batch = logged_fold
