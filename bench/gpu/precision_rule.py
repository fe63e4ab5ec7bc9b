"""The precision rule of issue 12 applied to measured results: which mode ``precision="auto"`` runs on CUDA.

``python bench/gpu/precision_rule.py [JSON ...]`` (default ``bench/results/h100.json``) prints the
verdict; ``--write`` also rewrites ``CUDA_DEFAULT_PRECISION`` in ``src/remyfold/precision.py``.
The rule itself is :func:`remyfold.precision.choose_precision`: the fastest mode within 0.05 Å
Cα RMSD and 0.5 pLDDT of fp32 on every measured sequence. Only CUDA measurements can set the CUDA
default; without them (no file, or a CPU rehearsal) the answer is fp32.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "h100.json"
PRECISION_MODULE = ROOT / "src" / "remyfold" / "precision.py"
CONSTANT = re.compile(r'^CUDA_DEFAULT_PRECISION = "[^"]*"$', re.MULTILINE)


def mode_seconds(report: dict, modes: tuple[str, ...]) -> dict[str, float]:
    """Seconds of each plain mode summed over the main lengths that every mode measured."""
    rows = [r for r in report.get("results", []) if r["impl"] == "remyfold" and r["status"] == "ok"
            and r["group"] == "main" and r["precision"] in modes]  # fmt: skip
    lengths = {m: {r["length"] for r in rows if r["precision"] == m} for m in modes}
    measured = [m for m in modes if lengths[m]]
    common = set.intersection(*(lengths[m] for m in measured)) if measured else set()
    return {m: sum(r["seconds"] for r in rows if r["precision"] == m and r["length"] in common) for m in measured
            if common}  # fmt: skip


def verdict(report: dict) -> dict:
    """``{"choice", "reasons", "cuda", "seconds"}`` for one benchmark report."""
    from remyfold.settings import PRECISIONS
    from remyfold.precision import BASELINE, DRIFT_LIMITS, choose_precision

    cuda = str(report.get("device", "")).startswith("cuda")
    seconds = mode_seconds(report, PRECISIONS)
    drift = [r for r in report.get("drift", []) if r.get("precision") in PRECISIONS]
    choice, reasons = choose_precision(drift, seconds)
    if not cuda:
        reasons.append(f"measured on {report.get('device')}, not CUDA: the CUDA default stays {BASELINE}")
        choice = BASELINE
    return {"choice": choice, "reasons": reasons, "cuda": cuda, "seconds": seconds,
            "limits": {"ca_rmsd": DRIFT_LIMITS.ca_rmsd, "plddt": DRIFT_LIMITS.plddt}}  # fmt: skip


def load_reports(paths: list[Path]) -> list[dict]:
    return [json.loads(path.read_text()) for path in paths if path.is_file()]


def rule_for(paths: list[Path]) -> dict:
    """The verdict over the reports at ``paths`` (merged); fp32 when none exists."""
    from bench import merge_reports

    reports = load_reports(paths)
    if not reports:
        return {"choice": "fp32", "reasons": ["no H100 results yet: fp32"], "cuda": False, "seconds": {}}
    return verdict(merge_reports(reports))


def write_constant(choice: str, module: Path = PRECISION_MODULE) -> None:
    from remyfold.io.atomic import write_text_atomic

    text = module.read_text()
    if not CONSTANT.search(text):
        raise SystemExit(f"precision_rule: error: no CUDA_DEFAULT_PRECISION line in {module}")
    write_text_atomic(module, CONSTANT.sub(f'CUDA_DEFAULT_PRECISION = "{choice}"', text))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("json", nargs="*", type=Path, default=[RESULTS], help="benchmark JSON(s) (default: %(default)s)")
    p.add_argument("--write", action="store_true", help="rewrite CUDA_DEFAULT_PRECISION in src/remyfold/precision.py")
    args = p.parse_args(argv)
    missing = [str(path) for path in args.json if not path.is_file()]
    if missing and args.write:
        print(f"precision_rule: error: {', '.join(missing)} not found; run bench/gpu/h100_run.sh on a GPU first",
              file=sys.stderr)  # fmt: skip
        return 2
    result = rule_for(args.json)
    for line in result["reasons"]:
        print(line)
    print(f"CUDA default precision: {result['choice']}")
    if args.write:
        write_constant(result["choice"])
    return 0


if __name__ == "__main__":
    sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "common")]
    sys.exit(main())
