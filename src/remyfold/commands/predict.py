"""``remyfold predict INPUT... --out DIR``: fold every FASTA record into PDB, mmCIF and JSON files.

The job itself is :func:`remyfold.pipeline.run_predict`; this module maps flags to
:class:`remyfold.pipeline.PredictOptions` and results to an exit code: 0 when every record
is ``ok`` or ``skipped``, 1 when some failed (see ``DIR/summary.tsv``), 2 for bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from remyfold.settings import PAGING_CHOICES, PRECISION_HELP, EngineSettings, parse_size

HELP = "Predict structures for the records of FASTA files (PDB, mmCIF, JSON with pLDDT/PAE, summary.tsv)."

_DEFAULTS = EngineSettings()  # torch-free: building the parser imports nothing heavy


def _int_at_least(minimum: int):
    """An argparse ``type`` accepting integers ``>= minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is less than {minimum}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``predict`` options to ``parser``."""
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        type=Path,
        help="FASTA files (plain or gzip); chains of a complex are separated by ':'",
    )
    parser.add_argument("--out", required=True, metavar="DIR", type=Path, help="output folder (created if needed)")
    parser.add_argument(
        "--weights",
        default=_DEFAULTS.weights,
        metavar="W",
        help=f"weights directory, or Hugging Face Hub id (default: {_DEFAULTS.weights}; "
        "uses the HF cache, honours HF_HUB_OFFLINE)",
    )
    parser.add_argument("--device", default=_DEFAULTS.device, metavar="D", help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument(
        "--precision",
        default=_DEFAULTS.precision,
        metavar="{" + ",".join(PRECISION_HELP) + "}",
        help="numeric mode of the model: " + "; ".join(f"{name}: {what}" for name, what in PRECISION_HELP.items()),
    )
    parser.add_argument(
        "--num-recycles",
        type=_int_at_least(0),
        default=None,
        metavar="N",
        help="N recycles = N+1 trunk passes, the reference's num_recycles=N (default: as the reference, "
        "max_recycles passes from the weights' config.json: 4 passes = 3 recycles for esmfold_v1)",
    )
    parser.add_argument(
        "--chunk-size",
        type=_int_at_least(1),
        default=None,
        metavar="N",
        help="run the pair-state operations N rows at a time: less memory (default: on the CPU, rows that keep the "
        "pair transition's hidden layer within 64 MiB, i.e. chunked above 181 residues, fewer where --max-memory needs "
        "it; on a GPU the most rows that fit "
        "its free memory, recorded in each JSON as chunk_size)",
    )
    parser.add_argument(
        "--max-memory",
        default=None,
        metavar="SIZE",
        help="most memory a fold may keep resident, e.g. 8G or 12000M (CPU: picks weight paging and the chunk size "
        "from a memory model and refuses, before folding, a record that cannot fit, naming the longest length that "
        "would; GPU: picks the chunk size; default: what the machine or GPU has available)",
    )
    parser.add_argument(
        "--paging",
        default=_DEFAULTS.paging,
        metavar="{" + ",".join(PAGING_CHOICES) + "}",
        help="CPU: hand each language-model layer's and trunk block's weight pages back to the kernel after use "
        "(auto: only when the fold does not fit with the weights held; default: auto)",
    )
    parser.add_argument(
        "--threads",
        type=_int_at_least(1),
        default=None,
        metavar="N",
        help="CPU threads for torch (default: the cores available to this process)",
    )
    parser.add_argument(
        "--max-length",
        type=_int_at_least(1),
        default=_DEFAULTS.max_length,
        metavar="N",
        help=f"longest record accepted, residues over all chains (default: {_DEFAULTS.max_length})",
    )
    parser.add_argument(
        "--max-tokens-per-batch",
        type=_int_at_least(1),
        default=_DEFAULTS.max_tokens_per_batch,
        metavar="N",
        help="batch short records while batch size x longest length <= N "
        f"(default: {_DEFAULTS.max_tokens_per_batch}; 1 folds one record at a time)",
    )
    parser.add_argument("--overwrite", action="store_true", help="refold records whose outputs already exist")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or final tally on stderr")
    parser.add_argument("--report", action="store_true", help="also write DIR/report.html (see `remyfold report`)")
    cluster = parser.add_mutually_exclusive_group()
    cluster.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="fold on the workers of a running Dask cluster, e.g. tcp://HOST:8786 (needs remyfold[cluster]; "
        "DIR must be a shared filesystem path)",
    )
    cluster.add_argument(
        "--workers",
        type=_int_at_least(1),
        metavar="N",
        help="fold on a local Dask cluster of N worker processes (needs remyfold[cluster])",
    )


def run(args: argparse.Namespace) -> int:
    """Run the prediction job; print a tally (unless ``--quiet``) and return the exit code."""
    from remyfold.pipeline import PredictOptions

    engine = EngineSettings(
        weights=args.weights, device=args.device, precision=args.precision, num_recycles=args.num_recycles,
        chunk_size=args.chunk_size, threads=args.threads, max_length=args.max_length,
        max_tokens_per_batch=args.max_tokens_per_batch, paging=args.paging,
        max_memory=None if args.max_memory is None else parse_size(args.max_memory),
    )  # fmt: skip
    options = PredictOptions(out_dir=args.out, engine=engine, overwrite=args.overwrite, progress=not args.quiet)
    results = _run_predict(args, options)
    counts = {status: sum(r.status == status for r in results) for status in ("ok", "skipped", "failed")}
    if not args.quiet:
        tally = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
        print(f"remyfold predict: {tally}; outputs in {args.out}", file=sys.stderr)
    if counts["failed"]:
        print(f"remyfold predict: {counts['failed']} of {len(results)} records failed; "
              f"see {args.out / 'summary.tsv'}", file=sys.stderr)  # fmt: skip
    if args.report and counts["ok"] + counts["skipped"]:
        from remyfold.report import build_report

        print(build_report(args.out))
    elif args.report:
        print("remyfold predict: no report: no record finished", file=sys.stderr)
    return 1 if counts["failed"] else 0


def _run_predict(args: argparse.Namespace, options):
    """``run_predict`` in this process, or on a Dask cluster with ``--scheduler``/``--workers``."""
    from remyfold.pipeline import run_predict

    if args.scheduler is None and args.workers is None:
        return run_predict(args.inputs, options)
    from remyfold.cluster import ClusterExecutor

    with ClusterExecutor(scheduler=args.scheduler, workers=args.workers, verbose=not args.quiet) as executor:
        return run_predict(args.inputs, options, executor=executor)
