"""Markdown tables of a ``bench/cpu/cpu_bench.py`` report (machine, load, folds, drift)."""

from __future__ import annotations


def _num(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _header(report: dict) -> list[str]:
    rates = report.get("matmul_tflops", {})
    rate = lambda key: " / ".join(f"{r[key] * 1000:.0f}" for r in rates.values() if key in r)  # noqa: E731
    weights = report.get("weights_gib", {})
    return [
        f"# remyfold vs the reference on the CPU, {_model(weights)} (random weights)", "",
        f"* machine: {report['device_name']}, {report['cores_available']} cores available, "
        f"{report['memory_gib']} GiB; {report['threads']} torch threads; load average at start "
        f"{', '.join(f'{x:.1f}' for x in report['load_average_at_start'])} (shared machine)",
        f"* torch {report['torch']}, transformers {report['transformers']}, remyfold {report['remyfold']} "
        f"commit {str(report['commit'])[:10]}{' (dirty)' if report.get('dirty') else ''}, {report['date']}",
        f"* checkpoint: {_num(weights.get('as_stored'), 2)} GiB as stored ({_stored(weights)}), "
        f"{_num(weights.get('fp32'), 2)} GiB in fp32",
        f"* matmul rate of `[256, 2560] @ [2560, 10240]`, GFLOP/s at start / end: fp32 {rate('fp32')}, "
        f"bf16 {rate('bf16')}, fp16 {rate('fp16')}",
        "* floor = the prediction's matmul FLOPs (`bench/common/flops.py`) / the highest fp32 rate measured in the run",
        "", f"complete: {report.get('complete')}", "",
    ]  # fmt: skip


def _model(weights: dict) -> str:
    """Which model the checkpoint is: esmfold_v1's size (7.86 GiB as published) or a small test model."""
    if (weights.get("as_stored") or 0.0) >= 7.0:
        return "full-size esmfold_v1"
    return "a small model (`checkpoint.py --config tiny`), not esmfold_v1's size: no speed figure"


def _stored(weights: dict) -> str:
    """How the checkpoint holds the language model: as published (fp16) or all in fp32 (``checkpoint.py --lm-fp32``)."""
    stored, fp32 = weights.get("as_stored"), weights.get("fp32")
    if stored is not None and fp32 is not None and stored >= 0.99 * fp32:  # constants differ by a few bytes
        return "everything in fp32, the language model too: not as published"
    return "language model fp16, rest fp32, as published"


def _workers(report: dict) -> list[str]:
    lines = ["| run | status | LM held in | ready (s) | load peak RSS (GiB) | length | passes | TFLOP | "
             "seconds | × fp32 floor | fold peak RSS (GiB) | page cache at start | plan (paged, rows, GiB) |",
             "|---" * 13 + "|"]  # fmt: skip
    for w in report["workers"]:
        mode = w["label"] + (f" (chunk {w['chunk']})" if w.get("chunk") else "")
        first = [mode, w.get("status", "?"), w.get("lm_dtype", "–"), _num(w.get("ready_seconds")),
                 _num(w.get("load_peak_rss_gib"), 2)]  # fmt: skip
        rows = w["results"] or [{}]
        for i, r in enumerate(rows):
            lead = first if i == 0 else [""] * 5
            cells = [str(r.get("length", "–")), str(r.get("passes", "–")), _num(r.get("tflop"), 2),
                     _num(r.get("seconds")), _num(r.get("floor_multiple"), 2), _num(r.get("fold_peak_rss_gib"), 2),
                     _num(r.get("page_cache_fraction"), 2), _plan(r.get("plan"))]  # fmt: skip
            lines.append("| " + " | ".join(lead + cells) + " |")
    return lines


def _plan(plan: dict | None) -> str:
    """remyfold's memory plan of a fold: paged or held, rows per chunk, expected peak GiB."""
    if not plan or plan.get("paged") is None:
        return "–"
    return f"{'paged' if plan['paged'] else 'held'}, {plan['rows'] or 'all'}, {_num(plan['expected_gib'], 2)}"


def read_ahead(worker: dict) -> str:
    """A paged worker's read-ahead of the next layer (``MADV_WILLNEED``), as a settings phrase."""
    if worker.get("paging") != "on":
        return ""
    return ", read-ahead of the next layer" if worker.get("prefetch") else ", no read-ahead of the next layer"


def _settings(report: dict) -> list[str]:
    """One line per run label: what it ran (remyfold's options, the reference's environment)."""
    lines, seen = ["", "Runs:", ""], set()
    for w in report["workers"]:
        if w["label"] in seen:
            continue
        seen.add(w["label"])
        if w["impl"] == "reference":
            env = " ".join(f"{k}={v}" for k, v in (w.get("env") or {}).items())
            lines.append(f"* {w['label']}: transformers' EsmForProteinFolding as documented{'; environment ' + env if env else ''}")
        else:
            lines.append(f"* {w['label']}: remyfold precision {w.get('precision')}, attention {w.get('attention')}, "
                         f"triangle layers {w.get('triangle') or 'auto'}, cpu allocator {w.get('cpu_allocator') or 'reuse'}, "
                         f"paging {w.get('paging') or 'auto'}{', page cache evicted before each fold' if w.get('evict') else ''}"
                         f"{read_ahead(w)}"
                         f"{', triangle attention core ' + w['attention_core'] if w.get('attention_core') else ''}"
                         f"{', peak RSS sampled per phase' if w.get('trace') else ''}"
                         f"{_probe(w)}")
    return lines


def _probe(worker: dict) -> str:
    blocks = worker.get("trunk_blocks")
    return f"; **a memory probe, not a prediction: the trunk cut to its first {blocks} of 48 blocks**" if blocks else ""


def _phases(report: dict) -> list[str]:
    """Sampled peak RSS per phase of each traced fold (``phase_trace.py``)."""
    rows = [(w["label"], r) for w in report["workers"] for r in w["results"] if r.get("phase_summary_gib")]
    if not rows:
        return []
    lines = ["", "Peak RSS by phase (sampled every 0.05 s; GiB):", "",
             "| run | length | passes | language model | trunk blocks run | trunk block peak, max / min | "
             "after the trunk | fold VmHWM |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for label, r in rows:
        p = r["phase_summary_gib"]
        lines.append(f"| {label} | {r['length']} | {r['passes']} | {_num(p['language model'], 2)} | {p['trunk blocks']} | "
                     f"{_num(p['trunk block max'], 2)} / {_num(p['trunk block min'], 2)} | {_num(p['after the trunk'], 2)} | "
                     f"{_num(r.get('fold_peak_rss_gib'), 2)} |")
    return lines


def _by_kind(report: dict) -> dict[str, dict]:
    """Workers of the same kind merged: first ready time, all result rows."""
    kinds: dict[str, dict] = {}
    for w in report["workers"]:
        kind = kinds.setdefault(w["label"], {"label": w["label"], "impl": w["impl"], "results": [],
                                              "ready_seconds": w.get("ready_seconds")})  # fmt: skip
        kind["results"] += w["results"]
    return kinds


def _speedups(report: dict) -> list[str]:
    kinds = _by_kind(report)
    mine = kinds.get("remyfold")
    refs = [w for w in kinds.values() if w["impl"] == "reference"]
    if not mine or not refs:
        return []
    lines = ["", "| length | reference run | reference (s) | remyfold (s) | speed-up | "
             "ready: reference / remyfold (s) |", "|---|---|---|---|---|---|"]  # fmt: skip
    for ref in refs:
        ref_rows = {r["length"]: r for r in ref["results"]}
        for r in mine["results"]:
            if r["length"] in ref_rows:
                a, b = ref_rows[r["length"]]["seconds"], r["seconds"]
                load = f"{_num(ref.get('ready_seconds'))} / {_num(mine.get('ready_seconds'))}"
                lines.append(f"| {r['length']} | {ref['label']} | {a:.1f} | {b:.1f} | {a / b:.2f}× | {load} |")
    return lines


def _agreement(report: dict) -> list[str]:
    if not report.get("agreement"):
        return []
    lines = ["", "Agreement with remyfold fp32 (same sequence, same weights):", "",
             "| run | length | passes | Cα RMSD (Å) | max abs ΔpLDDT (Cα) |", "|---|---|---|---|---|"]  # fmt: skip
    for row in report["agreement"]:
        lines.append(f"| {row['b']} | {row['length']} | {row.get('passes', '–')} | {row['ca_rmsd']:.4f} | "
                     f"{row['max_plddt_diff']:.4f} |")
    return lines


def render_cpu_markdown(report: dict) -> str:
    skipped = [f"* not run: {item}" for item in report.get("skipped", [])]
    return "\n".join(_header(report) + _workers(report) + _settings(report) + _phases(report) + _speedups(report) + _agreement(report)
                     + ([""] + skipped if skipped else [])) + "\n"  # fmt: skip
