"""``remyfold predict INPUT... --out DIR``: fold every FASTA record into PDB, mmCIF and JSON files.

The job itself is :func:`remyfold.pipeline.run_predict`; this module maps flags to
:class:`remyfold.pipeline.PredictOptions` and results to an exit code: 0 when every record
is ``ok`` or ``skipped``, 1 when some failed (see ``DIR/summary.tsv``), 2 for bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "Predict structures for the records of FASTA files (PDB, mmCIF, JSON with pLDDT/PAE, summary.tsv)."

# Mirrors of remyfold.pipeline / remyfold.io.fasta defaults, kept here so that building
# the parser imports nothing heavy (checked against them in the tests).
_DEFAULT_WEIGHTS = "facebook/esmfold_v1"
_DEFAULT_MAX_LENGTH = 4096
_DEFAULT_MAX_TOKENS = 1024


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
        default=_DEFAULT_WEIGHTS,
        metavar="W",
        help=f"weights directory, or Hugging Face Hub id (default {_DEFAULT_WEIGHTS}; "
        "uses the HF cache, honours HF_HUB_OFFLINE)",
    )
    parser.add_argument("--device", default="auto", metavar="D", help="auto, cpu, cuda or cuda:N (default auto)")
    parser.add_argument(
        "--precision",
        default="fp32",
        metavar="P",
        help="numeric mode of the model: fp32 (default), bf16 (faster, drifts), fp32-lm16 (fp32 arithmetic, "
        "language model weights held in fp16: 8.4 instead of 14.1 GB for esmfold_v1)",
    )
    parser.add_argument(
        "--num-recycles",
        type=_int_at_least(0),
        default=None,
        metavar="N",
        help="recycling iterations (default: the trained value, 4)",
    )
    parser.add_argument(
        "--chunk-size",
        type=_int_at_least(1),
        default=None,
        metavar="N",
        help="run the pair-state operations N rows at a time: less memory, slower (default: all at once)",
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
        default=_DEFAULT_MAX_LENGTH,
        metavar="N",
        help=f"longest record accepted, residues over all chains (default {_DEFAULT_MAX_LENGTH})",
    )
    parser.add_argument(
        "--max-tokens-per-batch",
        type=_int_at_least(1),
        default=_DEFAULT_MAX_TOKENS,
        metavar="N",
        help="batch short records while batch size x longest length <= N "
        f"(default {_DEFAULT_MAX_TOKENS}; 1 folds one record at a time)",
    )
    parser.add_argument("--overwrite", action="store_true", help="refold records whose outputs already exist")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or final tally on stderr")
    parser.add_argument("--report", action="store_true", help="also write DIR/report.html (see `remyfold report`)")


def run(args: argparse.Namespace) -> int:
    """Run the prediction job; print a tally (unless ``--quiet``) and return the exit code."""
    from remyfold.pipeline import PredictOptions, run_predict

    options = PredictOptions(
        out_dir=args.out, weights=args.weights, device=args.device, precision=args.precision,
        num_recycles=args.num_recycles, chunk_size=args.chunk_size, threads=args.threads, max_length=args.max_length,
        max_tokens_per_batch=args.max_tokens_per_batch, overwrite=args.overwrite, progress=not args.quiet,
    )  # fmt: skip
    results = run_predict(args.inputs, options)
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
