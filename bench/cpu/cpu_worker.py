"""One implementation, one process: load a checkpoint directory, fold at each length, report (``bench/cpu/cpu_bench.py``).

Run by :mod:`cpu_bench` as ``python bench/cpu/cpu_worker.py SPEC_JSON``; writes a JSON of results and an
``.npz`` of the predictions (Cα coordinates, per-residue pLDDT) for the drift comparison. Measures:

* ``ready_seconds``: from the parent's spawn (``spawned_at``, wall clock) to a model ready to fold —
  interpreter start, imports and loading, as a user waits for them;
* ``load_peak_rss_gib``: the process's peak resident memory (``VmHWM``) when the model is ready;
* per length, after a warm-up fold of 16 residues with one pass (which pages in every weight):
  seconds of one prediction with the default recycling and the peak RSS during it (``VmHWM``
  reset through ``/proc/self/clear_refs`` before the fold), the RSS before it, and the fraction of
  the checkpoint file's pages in the page cache as the fold starts (``pagecache.cached_fraction``).
  With ``evict`` (a cold page cache) the file is evicted before loading and before each fold, and
  there is no warm-up fold: held weights stay mapped once read, so only a held run's first fold is
  cold; a paged run's every fold reads its weights from the disk again.

``paging`` (``auto``/``on``/``off``) and ``max_memory`` are remyfold's settings of the same names
(weights paged per layer, :mod:`remyfold.paging`); each worker records the memory plan of its folds.
``trace`` adds the sampled peak RSS of each phase of a fold (``phase_trace.py``); ``trunk_blocks``
cuts the trunk to its first blocks, a memory probe for lengths whose whole fold takes hours (its
outputs are no prediction and are not compared).

Implementations: ``reference`` = ``transformers.EsmForProteinFolding.from_pretrained(dir)`` as it
comes (its ``__init__`` halves the language model when the config says ``fp16_esm``, on any device),
(or, with ``lm_fp32``, with ``fp16_esm`` switched off: an fp32 language model) called with ``num_recycles=None`` (its default: ``max_recycles`` passes); ``remyfold`` =
``Folder.from_pretrained(dir, device="cpu", precision=…, attention=…)`` with ``max_recycles`` passes.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from pagecache import cached_fraction, evict
from phase_trace import PhaseTrace, rss_gib, summarise

GIB = 1024**3
WARMUP_LENGTH = 16


def reset_peak() -> None:
    """Reset ``VmHWM`` to the current RSS (Linux ≥ 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


class Reference:
    """The reference, loaded as its documentation shows."""

    def __init__(self, weights: str, spec: dict):
        from transformers import EsmConfig, EsmForProteinFolding

        config = EsmConfig.from_pretrained(weights)
        if spec.get("lm_fp32"):  # the same arithmetic as remyfold's default: no halved language model
            config.esmfold_config.fp16_esm = False
        self.model = EsmForProteinFolding.from_pretrained(weights, config=config).eval()
        self.lm_dtype = str(next(self.model.esm.parameters()).dtype).removeprefix("torch.")
        self.model.trunk.set_chunk_size(spec.get("chunk"))

    def fold(self, sequence: str, passes: int | None):
        import torch

        from remyfold.api import encode_sequence

        aatype = torch.from_numpy(encode_sequence("ref", sequence).aatype)[None]
        with torch.no_grad():
            out = self.model(aatype, attention_mask=torch.ones_like(aatype),
                             num_recycles=None if passes is None else passes - 1)  # fmt: skip
        ca = out["positions"][-1, 0, :, 1].float().numpy()
        # pLDDT of the Cα atom (atom37 slot 1); the reference's is 0-1
        plddt = out["plddt"][0, :, 1].float().numpy() * 100.0
        return ca, plddt


class Remyfold:
    """remyfold through its one door, :class:`remyfold.api.Folder`."""

    def __init__(self, weights: str, spec: dict):
        from remyfold.api import Folder
        from remyfold.model.kernels import KernelOptions

        kernels = KernelOptions(triangle=spec.get("triangle", "auto"), cpu_allocator=spec.get("cpu_allocator", "reuse"))
        self.folder = Folder.from_pretrained(weights, device="cpu", precision=spec["precision"],
                                             attention=spec["attention"], chunk_size=spec.get("chunk"),
                                             threads=spec["threads"], kernels=kernels,
                                             paging=spec.get("paging", "auto"), max_memory=spec.get("max_memory"))  # fmt: skip
        if spec.get("prefetch"):  # paged, asking for the next layer's pages ahead (A/B of MADV_WILLNEED)
            self.folder.pager.prefetch = True
        if spec.get("attention_core"):  # the blocked triangle attention's core forced (A/B of its auto choice)
            self.folder.kernels.kernel.core = spec["attention_core"]
        if spec.get("trunk_blocks"):  # a memory probe, not a prediction: only the first trunk blocks run
            del self.folder.model.trunk.blocks[spec["trunk_blocks"]:]
        self.trace = PhaseTrace(self.folder.model) if spec.get("trace") else None
        self.max_recycles = self.folder.model.config.trunk.max_recycles
        self.lm_dtype = str(next(self.folder.model.esm.parameters()).dtype).removeprefix("torch.")

    def fold(self, sequence: str, passes: int | None):
        passes = self.max_recycles if passes is None else passes
        [pred] = self.folder.fold_batch([("L", sequence)], num_recycles=passes - 1)
        return pred.positions[:, 1], pred.residue_plddt

    def traced_fold(self, sequence: str, passes: int | None, row: dict):
        """:meth:`fold`, with the sampled peak RSS per phase in ``row`` when the spec asks for a trace."""
        if self.trace is None:
            return self.fold(sequence, passes)
        self.trace.start()
        try:
            return self.fold(sequence, passes)
        finally:
            row["phase_peaks_gib"] = self.trace.stop()
            row["phase_summary_gib"] = summarise(row["phase_peaks_gib"])

    def plan(self, length: int) -> dict:
        """The memory plan of a fold of ``length`` residues (paged, rows, expected GiB) and the weight bytes."""
        plan = self.folder.memory_plan(1, length)
        weights = self.folder.pager.bytes
        return {"paged": plan.paged if plan else None, "rows": plan.rows if plan else None,
                "expected_gib": plan.expected_bytes / GIB if plan else None,
                "weights_paged_gib": weights.resident(True) / GIB, "weights_held_gib": weights.resident(False) / GIB,
                "budget_gib": self.folder.budget.limit / GIB if self.folder.budget else None}  # fmt: skip


def code_version() -> str:
    """``git describe``-like commit of the code this worker runs (``-dirty`` with uncommitted changes).

    Result files (``bench/results/``) do not count: a run that writes several of them, or runs
    beside another benchmark that does, still runs the committed code.
    """
    import subprocess

    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=root, capture_output=True, text=True).stdout
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)bench/results"], cwd=root, capture_output=True, text=True).stdout  # fmt: skip
    except OSError:
        return "unknown"
    return head.strip() + ("-dirty" if dirty.strip() else "")


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    version = code_version()
    import torch

    torch.set_num_threads(spec["threads"])
    checkpoint = Path(spec["weights"]) / "model.safetensors"
    if spec.get("evict") and checkpoint.is_file():
        evict(checkpoint)
    impl = (Reference if spec["impl"] == "reference" else Remyfold)(spec["weights"], spec)
    report = {"label": spec["label"], "impl": spec["impl"], "threads": torch.get_num_threads(),
              "ready_seconds": time.time() - spec["spawned_at"], "load_peak_rss_gib": rss_gib(),
              "lm_dtype": impl.lm_dtype, "code": version, "results": []}  # fmt: skip
    out = Path(spec["out"])
    out.write_text(json.dumps(report, indent=1))
    if not spec.get("evict"):  # a cold run's first fold reads the weights from the disk (held: its only cold fold)
        impl.fold(spec["sequences"][str(WARMUP_LENGTH)], 1)
    arrays = {}
    for length, passes in spec["runs"]:
        if spec.get("evict") and checkpoint.is_file():
            evict(checkpoint)
        cached = cached_fraction(checkpoint) if checkpoint.is_file() else None
        before = rss_gib("VmRSS")
        reset_peak()
        row: dict = {}
        start = time.perf_counter()
        if hasattr(impl, "traced_fold"):
            ca, plddt = impl.traced_fold(spec["sequences"][str(length)], passes, row)
        else:
            ca, plddt = impl.fold(spec["sequences"][str(length)], passes)
        seconds = time.perf_counter() - start
        row = {"length": length, "passes": passes or "default", "seconds": seconds, "fold_peak_rss_gib": rss_gib(),
               "rss_before_gib": before, "page_cache_fraction": cached} | row  # fmt: skip
        if hasattr(impl, "plan"):
            row["plan"] = impl.plan(length)
        report["results"].append(row)
        arrays[f"ca_{length}_{passes}"], arrays[f"plddt_{length}_{passes}"] = ca, plddt
        np.savez(spec["arrays"], **arrays)
        out.write_text(json.dumps(report, indent=1))
        print(f"{spec['label']}: L={length} passes={passes} {seconds:.1f}s", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
