"""``remyfold serve`` with a fake engine, for tests and benchmarks of the queue (not of folding).

Run: ``python tests/serve/fake_server.py --data DIR --port N [--fold-seconds S]``. The worker
writes real PDB/mmCIF/JSON files of a straight-line backbone (``test_cli_predict.fake_prediction``)
after sleeping ``S`` seconds per batch, so the queue, store, files and API run for real.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "commands"))  # tests/commands/, for test_cli_predict

from remyfold.serve.app import run_server  # noqa: E402
from remyfold.serve.config import Limits, ServeConfig  # noqa: E402


class FakeEngine:
    """Stands in for :class:`remyfold.api.Folder`: ``fold_batch`` as the pipeline calls it."""

    device = "cpu"

    def __init__(self, seconds: float):
        self.seconds = seconds

    def fold_batch(self, records, *, num_recycles=None, progress=None):
        from test_cli_predict import fake_prediction

        # Stages as the real engine reports them, at most 0.2 s apart (a cancel stops at one of them).
        steps = max(1, int(self.seconds / 0.2))
        for step in range(steps):
            if progress is not None:
                progress("language model" if step == 0 else f"trunk pass {step} of {steps - 1}")
            time.sleep(self.seconds / steps)
        return [fake_prediction(record_id, sequence) for record_id, sequence in records]


def load_fake(weights, options) -> FakeEngine:
    """A :class:`remyfold.pipeline.FolderLoader` of the fake engine."""
    return FakeEngine(float(os.environ.get("REMYFOLD_FAKE_FOLD_SECONDS", "0")))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fold-seconds", type=float, default=0.0)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (they race to claim jobs)")
    parser.add_argument("--weights-revision", default="fake-1", help="the revision the fake weights claim to be")
    args = parser.parse_args()
    os.environ["REMYFOLD_FAKE_FOLD_SECONDS"] = str(args.fold_seconds)  # read by the spawned worker
    config = ServeConfig(data_dir=args.data, weights="fake", weights_revision=args.weights_revision,
                         devices=("cpu",) * args.workers, port=args.port, secure_cookies=False,
                         loader="fake_server:load_fake", limits=Limits(max_queued_jobs=100))  # fmt: skip
    run_server(config)


if __name__ == "__main__":
    main()
