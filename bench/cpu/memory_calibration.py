"""Calibrate the CPU memory model's activation terms (``remyfold.model.memory.cpu_activation_bytes``).

Activations do not depend on the number of trunk blocks or language-model layers except through
the stack of the LM's hidden states (they run one after the other), so a network with esmfold_v1's
dimensions, one LM layer and one trunk block, random weights held in memory, shows the activation
peaks of a full-size fold. For each (length, chunk rows) it folds one pass and records, per phase,
the process's peak RSS above its RSS before the fold (``VmHWM`` reset through
``/proc/self/clear_refs`` at each phase's start): the language model, the trunk's blocks, the
structure module and the heads; next to it the memory model's estimate of the same fold with one
LM layer. The model's constants are upper bounds of these measurements.

Usage: ``python bench/cpu/memory_calibration.py --points 128:none,256:none,256:32,384:64 --out bench/results/cpu-memory-calibration.json``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "common")]

from cpu_memory import reduced_model  # noqa: E402
from cpu_worker import code_version, reset_peak, rss_gib  # noqa: E402
from models import model_config, random_sequence  # noqa: E402

GIB = 1024**3


class PhasePeaks:
    """Peak RSS above a baseline per phase, read and reset at each phase boundary (forward hooks)."""

    def __init__(self, model):
        self.peaks: dict[str, float] = {}
        self.phase, self.before = "", 0.0
        model.esm.register_forward_pre_hook(lambda *_: self.start("language model"))
        model.trunk.blocks[0].register_forward_pre_hook(lambda *_: self.start("trunk blocks"))
        model.trunk.structure_module.register_forward_pre_hook(lambda *_: self.start("structure module"))
        model.distogram_head.register_forward_pre_hook(lambda *_: self.start("heads"))

    def start(self, phase: str) -> None:
        self.stop()
        self.phase = phase
        reset_peak()

    def stop(self) -> None:
        if self.phase:
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), rss_gib() - self.before)
        self.phase = ""


def parse_points(text: str) -> list[tuple[int, int | None]]:
    """``"256:none,256:32"`` → ``[(256, None), (256, 32)]``."""
    points = []
    for item in text.split(","):
        length, _, rows = item.partition(":")
        points.append((int(length), None if rows in ("", "none") else int(rows)))
    return points


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", default="128:none,256:none,256:32,384:64")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    from remyfold.api import Folder
    from remyfold.memory_plan import fold_dims
    from remyfold.model.memory import cpu_activation_bytes

    model, _ = reduced_model(model_config("full", torch.device("cpu")), "plain")
    folder = Folder(model, device=torch.device("cpu"))
    peaks = PhasePeaks(folder.model)
    dims = fold_dims(folder.model)
    rows_out = []
    for length, rows in parse_points(args.points):
        folder.chunk_size = rows or length  # none: one chunk of every row (unchunked)
        peaks.peaks, peaks.before = {}, rss_gib("VmRSS")
        start = time.perf_counter()
        folder.fold_batch([("x", random_sequence(length, f"cal-{length}"))], num_recycles=0)
        peaks.stop()
        phases = {name: round(value, 4) for name, value in peaks.peaks.items()}
        model_gib = cpu_activation_bytes(dims, 1, length, rows) / GIB
        rows_out.append({"length": length, "rows": rows, "seconds": round(time.perf_counter() - start, 1),
                         "measured_gib": phases, "measured_peak_gib": max(phases.values()),
                         "model_gib": round(model_gib, 4)})  # fmt: skip
        print(rows_out[-1], file=sys.stderr, flush=True)
        args.out.write_text(json.dumps({"code": code_version(), "date": time.strftime("%Y-%m-%d"),
                                        "dims": dims.__dict__, "note": "one LM layer, one trunk block, one pass",
                                        "points": rows_out}, indent=1) + "\n")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
