"""Peak resident memory per phase of one fold, sampled from ``/proc/self/status`` (``bench/cpu/cpu_worker.py``).

Where a fold's peak lies matters for the memory model (``src/remyfold/memory_plan.py``): the language
model, one trunk block (every block allocates the same shapes), or the structure module and heads
after the trunk. :class:`PhaseTrace` hooks the model's sequential units (``ESMFold.layer_stacks()``:
the language model's layers, the trunk's blocks) to name the phase that is running, and a sampling
thread reads ``VmRSS`` every ``interval`` seconds (torch's kernels release the GIL, so the thread
runs during them) and keeps the largest value seen per phase. Recycling passes fold into the same
phases (the maximum over passes).

Phases, in order: ``start`` (embeddings, up to the first language-model layer), ``language model``
(its layers, then the trunk's input projections up to block 0), ``trunk block i``, and ``after the
trunk`` (structure module, heads, and the next pass's input until its block 0 starts).

A sampled peak can miss a spike shorter than the interval; the fold's ``VmHWM`` (reset before the
fold) does not, so the worker records both.
"""

from __future__ import annotations

import threading
from pathlib import Path

GIB = 1024**3


def rss_gib(field: str = "VmHWM") -> float:
    """``VmHWM`` (peak) or ``VmRSS`` (now) of this process, GiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024 / GIB
    raise RuntimeError(f"{field} not in /proc/self/status")


class PhaseTrace:
    """Sampled peak ``VmRSS`` per named phase of the folds run between :meth:`start` and :meth:`stop`."""

    def __init__(self, model, interval: float = 0.05):
        self.interval = interval
        self.phase = "start"
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        layers, blocks = model.layer_stacks()
        self._handles = [layers[0].register_forward_pre_hook(lambda *_: self._enter("language model"))]
        for i, block in enumerate(blocks):
            self._handles.append(block.register_forward_pre_hook(lambda *_, i=i: self._enter(f"trunk block {i}")))
        self._handles.append(blocks[-1].register_forward_hook(lambda *_: self._enter("after the trunk")))

    def _enter(self, phase: str) -> None:
        self._sample()  # the memory as the previous phase ends belongs to it
        self.phase = phase

    def _sample(self) -> None:
        rss = rss_gib("VmRSS")
        if rss > self.peaks.get(self.phase, 0.0):
            self.peaks[self.phase] = rss

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> None:
        self.phase, self.peaks = "start", {}
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, float]:
        """Stop sampling; the peaks ``{phase: GiB}`` in the order the phases first ran."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        return {phase: round(gib, 3) for phase, gib in self.peaks.items()}

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


def summarise(peaks: dict[str, float]) -> dict[str, float | None]:
    """The peaks of the language model, the trunk's blocks (largest and smallest block peak) and what follows."""
    blocks = [gib for phase, gib in peaks.items() if phase.startswith("trunk block")]
    return {"language model": peaks.get("language model"),
            "trunk block max": max(blocks) if blocks else None,
            "trunk block min": min(blocks) if blocks else None,
            "trunk blocks": len(blocks),
            "after the trunk": peaks.get("after the trunk")}  # fmt: skip
