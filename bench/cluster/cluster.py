"""Throughput of ``remyfold predict`` on a local Dask cluster of 1 and 2 workers, beside single-process runs.

One run, one machine, one set of records and random weights (``--config``, default ``tiny``):

* ``single process`` — :func:`remyfold.pipeline.run_predict` in this process (1 torch thread, and
  all threads), the plain path;
* ``cluster N`` — the same call with :class:`remyfold.cluster.ClusterExecutor` (``--workers N``:
  N worker processes with one torch thread each, as Dask starts them).

Each run writes into a fresh folder (so nothing is skipped). For the cluster runs, Dask's task
stream gives each batch's compute interval on its worker; from it: the time to the first fold
(cluster start + model load per worker), the folding phase's throughput, and the **per-batch
overhead**: the idle gap on a worker between the end of one batch and the start of its next
(result back to the client, next submission, scheduler dispatch) against the batch's compute time.

    python bench/cluster/cluster.py --records 48 --out bench/results/cluster-cpu-tiny.json --markdown bench/results/cluster-cpu-tiny.md
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "common")]

from measure import environment
from models import build_reference, model_config, random_sequence

from remyfold.pipeline import PredictOptions, run_predict


def make_inputs(directory: Path, config: str, records: int, lengths: tuple[int, int], seed: int) -> tuple[Path, Path]:
    """Random weights saved with ``save_pretrained`` and a FASTA of ``records`` seeded sequences."""
    weights = directory / "weights"
    build_reference(model_config(config, torch.device("cpu")), torch.device("cpu"), seed).save_pretrained(weights)
    rng = random.Random(f"cluster-bench-{seed}")
    fasta = directory / "records.fasta"
    fasta.write_text("".join(f">r{i:03d}\n{random_sequence(rng.randint(*lengths), f'cb-{seed}-{i}')}\n"
                             for i in range(records)))  # fmt: skip
    return weights, fasta


def options(out: Path, weights: Path, args) -> PredictOptions:
    return PredictOptions(out_dir=out, weights=weights, device="cpu", num_recycles=args.recycles,
                          max_tokens_per_batch=args.max_tokens, progress=False)  # fmt: skip


def run_single(fasta: Path, weights: Path, out: Path, threads: int, args) -> dict:
    """The plain path: the whole job in this process with ``threads`` torch threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        start = time.perf_counter()
        results = run_predict([fasta], options(out, weights, args))
        seconds = time.perf_counter() - start
    finally:
        torch.set_num_threads(before)
    return {"mode": "single process", "workers": 1, "threads_per_worker": threads, "seconds": seconds,
            "records": len(results), "ok": sum(r.status == "ok" for r in results),
            "records_per_second": len(results) / seconds}  # fmt: skip


def run_cluster(fasta: Path, weights: Path, out: Path, workers: int, args) -> dict:
    """``--workers N``: timings of the whole command and of each batch on its worker (Dask task stream)."""
    from distributed import get_task_stream

    from remyfold.cluster import ClusterExecutor

    opts = options(out, weights, args)
    start = time.perf_counter()
    with ClusterExecutor(workers=workers, verbose=False) as executor:
        executor.check(opts)
        cluster_seconds = time.perf_counter() - start
        with get_task_stream(client=executor.client) as stream:
            results = run_predict([fasta], opts, executor=executor)
        seconds = time.perf_counter() - start
        offset = time.time() - time.perf_counter()  # task stream times are wall-clock (time.time)
    tasks = [t for t in stream.data if str(t["key"]).startswith("remyfold-")]
    result = {"mode": "cluster", "workers": workers, "threads_per_worker": 1, "seconds": seconds,
              "records": len(results), "ok": sum(r.status == "ok" for r in results),
              "records_per_second": len(results) / seconds, "cluster_start_seconds": cluster_seconds}  # fmt: skip
    result.update(batch_timings(tasks, start + offset))
    return result


def batch_timings(tasks: list[dict], started_at: float) -> dict:
    """From the task stream: time to the first fold, folding-phase throughput, per-batch compute and idle gap."""
    computes = {}
    for task in tasks:
        for ss in task["startstops"]:
            if ss["action"] == "compute":
                computes.setdefault(task["worker"], []).append((ss["start"], ss["stop"]))
    intervals = sorted(i for spans in computes.values() for i in spans)
    gaps = [b[0] - a[1] for spans in computes.values() for a, b in zip(sorted(spans), sorted(spans)[1:])]
    phase = intervals[-1][1] - intervals[0][0]
    return {
        "batches": len(intervals),
        "first_fold_after_seconds": intervals[0][0] - started_at,
        "folding_phase_seconds": phase,
        "batch_compute_seconds_mean": statistics.fmean(b - a for a, b in intervals),
        "batch_gap_seconds_mean": statistics.fmean(gaps) if gaps else None,
        "batch_gap_seconds_max": max(gaps) if gaps else None,
    }


def io_costs(weights: Path, directory: Path, length: int, summary_rows: int) -> dict:
    """Client and worker costs that do not shrink with more GPUs: the files of one record, ``summary.tsv``.

    The files of a record depend on its length only (pLDDT per atom, PAE ``[N, N]``), not on the model's size.
    """
    from remyfold.api import Folder
    from remyfold.io.atomic import write_text_atomic
    from remyfold.io.structure_writer import to_mmcif_string, to_pdb_string
    from remyfold.io.prediction_folder import PredictionFolder, RecordResult, prediction_json

    [pred] = Folder.from_pretrained(weights, device="cpu").fold([random_sequence(length, "io")], num_recycles=0)
    texts = {}
    start = time.perf_counter()
    texts["pdb"], texts["cif"] = to_pdb_string(pred), to_mmcif_string(pred)
    texts["json"] = prediction_json(pred, device="cpu")
    format_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for suffix, text in texts.items():
        write_text_atomic(directory / f"io.{suffix}", text)
    write_seconds = time.perf_counter() - start
    rows = [RecordResult(f"r{i:05d}", 400, "A:400", "ok", 80.0, 0.8, 1.0) for i in range(summary_rows)]
    start = time.perf_counter()
    PredictionFolder(directory).write_summary(rows)
    return {"record_length": length, "record_bytes": sum(len(t.encode()) for t in texts.values()),
            "record_format_seconds": format_seconds, "record_write_seconds": write_seconds,
            "summary_rows": summary_rows, "summary_bytes": (directory / "summary.tsv").stat().st_size,
            "summary_write_seconds": time.perf_counter() - start}  # fmt: skip


def render(report: dict) -> str:
    env, rows, opts = report["environment"], report["runs"], report["options"]
    recycles = "the model's default recycles" if opts["recycles"] is None else f"{opts['recycles']} recycles"
    lines = [
        f"# remyfold predict on a local Dask cluster — {env['device_name']}, {env['cpu_threads']} cores, "
        f"load average {report['load_average']}",
        "",
        f"commit {env['commit']}{' (dirty)' if env['dirty'] else ''}, {env['date']}, torch {env['torch']}; "
        f"config `{opts['config']}`, {opts['records']} records of {opts['lengths'][0]}–{opts['lengths'][1]} "
        f"residues, {recycles}, --max-tokens-per-batch {opts['max_tokens']}.",
        "",
        "| run | workers × threads | whole command s | records/s | first fold after s | folding phase s "
        "| batches | mean batch compute s | mean gap between batches s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        fmt = lambda key: "—" if r.get(key) is None else f"{r[key]:.3f}"  # noqa: E731
        lines.append(f"| {r['mode']} | {r['workers']} × {r['threads_per_worker']} | {r['seconds']:.2f} "
                     f"| {r['records_per_second']:.2f} | {fmt('first_fold_after_seconds')} | {fmt('folding_phase_seconds')} "
                     f"| {r.get('batches', '—')} | {fmt('batch_compute_seconds_mean')} | {fmt('batch_gap_seconds_mean')} |")  # fmt: skip
    io = report.get("io")
    if io:
        lines += ["", f"Output I/O (local disk): one {io['record_length']}-residue record's PDB + mmCIF + JSON are "
                  f"{io['record_bytes'] / 1e6:.2f} MB, {io['record_format_seconds']:.3f} s to format and "
                  f"{io['record_write_seconds']:.3f} s to write (fsync'd); summary.tsv of {io['summary_rows']} rows is "
                  f"{io['summary_bytes'] / 1e6:.2f} MB, {io['summary_write_seconds']:.3f} s to rewrite "
                  "(the client rewrites it after each batch, on a cluster after each group of batches finished together)."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="tiny", choices=["tiny", "small"])
    parser.add_argument("--records", type=int, default=48)
    parser.add_argument("--lengths", default="40,120", help="min,max residues")
    parser.add_argument("--recycles", type=int, default=None, help="default: the model's own (config passes)")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--workers", default="1,2", help="cluster sizes to run")
    parser.add_argument("--single-threads", default=f"1,{torch.get_num_threads()}",
                        help="torch threads of the single-process runs (default: 1 and all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    lengths = tuple(int(x) for x in args.lengths.split(","))
    runs = []
    with tempfile.TemporaryDirectory(prefix="remyfold-cluster-bench-") as tmp:
        weights, fasta = make_inputs(Path(tmp), args.config, args.records, lengths, args.seed)
        for threads in (int(x) for x in args.single_threads.split(",") if x):
            runs.append(run_single(fasta, weights, Path(tmp) / f"single-{threads}", threads, args))
            print(json.dumps(runs[-1]), file=sys.stderr)
        for n in (int(x) for x in args.workers.split(",") if x):
            runs.append(run_cluster(fasta, weights, Path(tmp) / f"cluster-{n}", n, args))
            print(json.dumps(runs[-1]), file=sys.stderr)
        io = io_costs(weights, Path(tmp), 400, 20_000)
    report = {"environment": environment(torch.device("cpu")), "load_average": [round(x, 1) for x in os.getloadavg()],
              "options": {**vars(args), "lengths": lengths, "out": str(args.out),
                          "markdown": str(args.markdown) if args.markdown else None}, "runs": runs, "io": io}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    if args.markdown:
        args.markdown.write_text(render(report))


if __name__ == "__main__":
    main()
