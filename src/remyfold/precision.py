"""The default numeric mode per device, and the rule that picks it from measurements (issue 12).

Rule: on CUDA the default is the fastest mode whose drift from fp32 stays within
:data:`DRIFT_LIMITS` — at most 0.05 Å Cα RMSD (after superposition) and 0.5 pLDDT (the largest
per-residue |ΔpLDDT|, Cα pLDDT on the 0–100 scale) on every measured sequence. Modes that drift
further stay opt-in. :func:`choose_precision` applies the rule to measured drift and timings;
``bench/gpu/precision_rule.py`` reads them from ``bench/results/h100.json`` and rewrites
:data:`CUDA_DEFAULT_PRECISION` below. Without H100 measurements the default stays fp32 (the
reference's arithmetic), and the CPU default is always fp32.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

BASELINE = "fp32"


@dataclass(frozen=True)
class DriftLimits:
    """Largest drift from fp32 a default mode may show: Cα RMSD (Å) and per-residue |ΔpLDDT|."""

    ca_rmsd: float = 0.05
    plddt: float = 0.5


DRIFT_LIMITS = DriftLimits()

# Written by `python bench/gpu/precision_rule.py --write` from bench/results/h100.json.
# No H100 measurements yet: fp32.
CUDA_DEFAULT_PRECISION = "fp32"


def default_precision(device: torch.device) -> str:
    """The mode ``precision="auto"`` means on ``device``."""
    return CUDA_DEFAULT_PRECISION if device.type == "cuda" else BASELINE


def choose_precision(drift: list[dict], seconds: dict[str, float], limits: DriftLimits = DRIFT_LIMITS) -> tuple[str, list[str]]:
    """The fastest mode within ``limits`` of fp32, and one reason line per mode.

    Args:
        drift: rows ``{"precision", "ca_rmsd", "max_plddt_diff"}`` against fp32 (any number per mode).
        seconds: time of each mode on the same work (fp32 included), e.g. summed over the lengths
            every mode measured.

    A mode with no drift rows, a missing/non-finite value or no time is not eligible; fp32 is
    always eligible, so the answer is fp32 without measurements.
    """
    reasons, eligible = [], {BASELINE}
    for mode in sorted(set(seconds) - {BASELINE}):
        rows = [r for r in drift if r.get("precision") == mode]
        worst_rmsd = max((r.get("ca_rmsd") for r in rows), default=None, key=_none_high)
        worst_plddt = max((r.get("max_plddt_diff") for r in rows), default=None, key=_none_high)
        if not rows or worst_rmsd is None or worst_plddt is None:
            reasons.append(f"{mode}: no complete drift measurement, stays opt-in")
            continue
        within = worst_rmsd <= limits.ca_rmsd and worst_plddt <= limits.plddt
        reasons.append(f"{mode}: worst Cα RMSD {worst_rmsd:.3f} Å, worst |ΔpLDDT| {worst_plddt:.2f} over "
                       f"{len(rows)} sequences: {'within' if within else 'outside'} the limits")  # fmt: skip
        if within:
            eligible.add(mode)
    timed = {m: seconds[m] for m in eligible if seconds.get(m)}
    best = min(timed, key=timed.get) if timed else BASELINE
    return best, reasons


def _none_high(value) -> float:
    """Sort key that makes a missing value the worst."""
    return float("inf") if value is None or value != value else float(value)


def fold_numerics(precision: str, device: torch.device):
    """The matmul settings of one fold (a context manager restoring the previous global ones).

    ``tf32`` on CUDA: fp32 matmuls on the TF32 tensor cores (``set_float32_matmul_precision("high")``);
    every other mode on CUDA: IEEE fp32 matmuls whatever the process had set. The CPU: unchanged.
    """
    from remyfold.model.primitives import float32_matmul_precision

    if device.type != "cuda":
        return contextlib.nullcontext()
    return float32_matmul_precision("high" if precision == "tf32" else "highest")
