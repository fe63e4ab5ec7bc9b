"""Markdown of the one-call GPU run (bench/gpu/h100.py): items, tests, the benchmark tables, components, rule."""

from __future__ import annotations

from markdown import _num, render_markdown


def items_table(report: dict) -> list[str]:
    lines = ["| item | status | seconds |", "|---|---|---:|"]
    for name, entry in report.get("items", {}).items():
        lines.append(f"| {name} | {entry.get('status')} | {_num(entry.get('seconds'), 1)} |")
    tests = report.get("gpu_tests")
    if tests:
        counts = ", ".join(f"{n} {kind}" for kind, n in tests["counts"].items()) or "no summary"
        lines += ["", f"`tests/api/test_gpu.py`: {counts} (pytest exit {tests['returncode']})."]
    return lines + [""]


def components_table(report: dict) -> list[str]:
    rows = report.get("components", [])
    if not rows:
        return []
    lines = [
        "Where the time goes (seconds; × floor = measured / FLOP floor at the measured matmul rate):",
        "",
        "| precision | length | total | LM | trunk per pass (× floor) | structure module per pass (× floor) | other |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r.get("status") != "ok":
            lines.append(f"| {r['precision']} | {r['length']} | {r.get('status')} | | | | |")
            continue
        floor = r["floor"]
        ratio = lambda key: _num(r[key] / floor[key], 1) if floor[key] else "–"  # noqa: E731
        lines.append(
            f"| {r['precision']} | {r['length']} | {_num(r['total'])} | {_num(r['lm'])} ({ratio('lm')}) "
            f"| {_num(r['trunk_per_pass'])} ({ratio('trunk_per_pass')}) "
            f"| {_num(r['structure_module_per_pass'])} ({ratio('structure_module_per_pass')}) | {_num(r['other'])} |"
        )
    return lines + [""]


def rule_lines(report: dict) -> list[str]:
    rule = report.get("precision_rule")
    if not rule:
        return []
    return ["Precision rule (fastest mode within 0.05 Å Cα RMSD and 0.5 pLDDT of fp32): "
            f"**{rule['choice']}**.", ""] + [f"* {reason}" for reason in rule["reasons"]] + [""]  # fmt: skip


def render_h100(report: dict) -> str:
    """The whole page: items first (what ran), then the benchmark tables, components, kernels and the rule."""
    kernels = report.get("kernels") or {}
    kernel_lines = [f"Kernels: {', '.join(f'{k}: {v}' for k, v in kernels.items())}.", ""] if kernels else []
    sample = report.get("throughput_fp32_sample")
    sample_lines = [f"fp32 on the drift sample: {sample['folded']} sequences, {_num(sample['sequences_per_second'], 3)} "
                    "seq/s.", ""] if sample else []  # fmt: skip
    return "\n".join(
        ["# GPU run (bench/gpu/h100_run.sh)", ""] + items_table(report) + [render_markdown(report)]
        + sample_lines + components_table(report) + kernel_lines + rule_lines(report)
    )  # fmt: skip
