"""Markdown tables from a benchmark JSON (``bench.py --markdown``, or ``--from-json`` to re-render)."""

from __future__ import annotations


def _num(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _speedup_lookup(report: dict) -> dict:
    """``(group, length, recycles, precision) → speedup`` from the report's speedup list."""
    speedups = report.get("speedup", [])
    return {(s["group"], s["length"], s["recycles"], p): x for s in speedups for p, x in s["remyfold"].items()}


def header(report: dict) -> list[str]:
    rates = ", ".join(f"{k} {v:g}" for k, v in report.get("matmul_tflops", {}).items())
    setup = report.get("reference_setup", {})
    dirty = " (uncommitted changes)" if report.get("dirty") else ""
    return [
        f"**{report.get('device_name')}** (`{report.get('device')}`, driver {report.get('driver')}, "
        f"CUDA {report.get('cuda')}), torch {report.get('torch')}, transformers {report.get('transformers')}, "
        f"remyfold {report.get('remyfold')} at `{(report.get('commit') or '?')[:10]}`{dirty}, {report.get('date')}.",
        f"Config `{report.get('config')}` with random weights, {report.get('recycles')} recycles, remyfold attention "
        f"`{report.get('attention')}`; reference LM {setup.get('lm_dtype')}, "
        f"TF32 {'on' if setup.get('tf32') else 'off'}. "
        f"Matmul rates (TFLOP/s): {rates}. Wall time {report.get('wall_seconds')} s"
        f"{'' if report.get('complete') else ' (incomplete run)'}.",
        "",
    ]


def results_table(report: dict) -> list[str]:
    speed = _speedup_lookup(report)
    lines = [
        "| group | length | impl | precision | chunk | recycles | seconds | peak GiB | TFLOP | × floor | speedup |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report.get("results", []):
        seconds = _num(r["seconds"]) if r["status"] == "ok" else r["status"]
        x = speed.get((r["group"], r["length"], r["recycles"], r["precision"])) if r["impl"] == "remyfold" else None
        lines.append(
            f"| {r['group']} | {r['length']} | {r['impl']} | {r['precision']} | {r['chunk'] or '–'} | {r['recycles']} "
            f"| {seconds} | {_num(r['peak_gib'])} | {r['flops']['total'] / 1e12:.3g} | {_num(r['floor_ratio'], 1)} "
            f"| {_num(x, 1) + '×' if x else '–'} |"
        )
    return lines + [""]


def throughput_table(report: dict) -> list[str]:
    t = report.get("throughput")
    if not t:
        return []
    remy, ref = t["remyfold"], t.get("reference") or {}
    lines = [
        f"Throughput: {t['n']} sequences of {t['lengths'][0]}–{t['lengths'][1]} residues, {t['recycles']} recycles.",
        "",
        "| impl | how | sequences | seconds | seq/s | speedup |",
        "|---|---|---:|---:|---:|---:|",
        f"| remyfold {remy.get('precision')} | {remy.get('batches')} batches ≤ {t['max_tokens_per_batch']} tokens "
        f"| {t['n']} | {_num(remy.get('seconds'))} | {_num(remy.get('sequences_per_second'), 3)} "
        f"| {_num(t.get('speedup'), 1) + '×' if t.get('speedup') else '–'} |",
    ]
    if ref:
        lines.append(f"| reference | one by one (seeded sample) | {ref['sampled']} | {_num(ref['seconds'])} "
                     f"| {_num(ref['sequences_per_second'], 3)} | 1× |")  # fmt: skip
    return lines + [""]


def drift_table(report: dict) -> list[str]:
    rows = report.get("drift", [])
    if not rows:
        return ["Precision drift: no mode other than fp32 was run.", ""]
    lines = [
        "Drift from fp32 (same weights and inputs):",
        "",
        "| length | precision | all-atom RMSD Å | Cα RMSD Å | max ΔpLDDT | ΔpTM |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for d in rows:
        lines.append(f"| {d['length']} | {d['precision']} | {_num(d['all_atom_rmsd'], 3)} | {_num(d['ca_rmsd'], 3)} "
                     f"| {_num(d['max_plddt_diff'], 2)} | {_num(d['ptm_diff'], 4)} |")  # fmt: skip
    return lines + [""]


def render_markdown(report: dict) -> str:
    """The whole markdown: a provenance header, the per-length table, throughput and drift."""
    return "\n".join(header(report) + results_table(report) + throughput_table(report) + drift_table(report))
