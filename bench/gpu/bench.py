"""Side-by-side benchmark of remyfold and the reference ``transformers.EsmForProteinFolding``.

One run, one device, random weights (speed does not depend on their values):

1. matmul rates of the card (fp32, and tf32/bf16/fp16 where used) — the FLOP floor's denominator;
2. the reference (fp32 trunk, fp16 language model and TF32 on CUDA, as its docs advise) at each length;
3. remyfold in every requested precision at each length, with the same weights loaded from
   the reference's ``state_dict`` in memory, and each faster mode's drift from fp32;
4. ``--long``: chunked long proteins (remyfold with recycles; both at ``--long-ref-recycles``);
5. ``--throughput N``: N seeded sequences of 50–400 residues, remyfold through predict's batch
   planner against the reference one by one (on a seeded sample of ``--throughput-ref-sample``).

Only one model is on the device at a time. The JSON (``--out``) is rewritten after every phase,
so a run cut short keeps what it measured; ``--deadline`` skips measurements that would not fit.
``python bench/gpu/bench.py --help`` lists the options; bench/README.md explains the output.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "common")]

from flops import floor_seconds, prediction_flops
from markdown import render_markdown
from measure import Budget, environment, is_oom, matmul_rates, measure, rate_key, release, tf32
from models import SCALED, build_reference, build_remyfold, model_config, random_sequence, reference_forward


@dataclass(frozen=True)
class Case:
    """One measurement: which implementation, in which mode, on what."""

    group: str  # "main" or "long"
    length: int
    impl: str  # "remyfold" or "reference"
    precision: str
    chunk: int | None
    recycles: int


def drift_row(length: int, precision: str, pred, base) -> dict:
    """How far ``pred`` lies from the fp32 prediction ``base``: RMSDs (Å, after Kabsch) and confidence deltas."""
    from remyfold.metrics.superpose import superposed_rmsd

    atoms = base.atom_mask & pred.atom_mask
    row = {
        "length": length,
        "precision": precision,
        "all_atom_rmsd": superposed_rmsd(pred.positions[atoms], base.positions[atoms]),
        "ca_rmsd": superposed_rmsd(pred.positions[:, 1], base.positions[:, 1]),
        "max_plddt_diff": float(np.abs(pred.residue_plddt - base.residue_plddt).max()),
        "ptm_diff": abs(float(pred.ptm) - float(base.ptm)),
    }
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}


class Bench:
    """One benchmark run: holds the models' weights, the growing report and the time budget."""

    def __init__(self, args: argparse.Namespace):
        from remyfold.devices import resolve_device
        from remyfold.model import FoldingConfig

        self.args = args
        self.device = resolve_device(args.device)
        self.config = model_config(args.config, self.device)
        self.folding_config = FoldingConfig.from_hf_dict(self.config)
        self.budget = Budget(args.deadline)
        self.reference = None
        self.state: dict = {}
        self.fp32_predictions: dict = {}
        self.report = environment(self.device) | {
            "config": args.config, "recycles": args.recycles, "attention": args.attention,
            "precisions": args.precisions, "seed": args.seed, "complete": False,
            "reference_setup": {"lm_dtype": "fp16" if self.device.type == "cuda" else "fp32",
                                "tf32": args.ref_tf32 and self.device.type == "cuda"},
            "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "results": [], "speedup": [], "throughput": None, "drift": [],
        }  # fmt: skip

    # ---- bookkeeping -------------------------------------------------------------------------
    def save(self) -> None:
        from remyfold.io.atomic import write_text_atomic

        self.report["wall_seconds"] = round(self.budget.elapsed(), 1)
        self.report["speedup"] = speedups(self.report["results"])
        write_text_atomic(self.args.out, json.dumps(self.report, indent=1) + "\n")

    def rates_for(self, impl: str, precision: str) -> tuple[float, float]:
        """Matmul rates (TFLOP/s) for the LM and for the rest of ``impl`` in ``precision``."""
        rates, setup = self.report["matmul_tflops"], self.report["reference_setup"]
        if impl == "reference":
            lm = rates.get("fp16", rates["fp32"]) if setup["lm_dtype"] == "fp16" else rates["fp32"]
            return lm, rates["tf32"] if setup["tf32"] else rates["fp32"]
        rate = rates.get(rate_key(precision), rates["fp32"])
        return rate, rate

    def timed_row(self, case: Case, run, warmup, repeats: int) -> tuple[dict, object]:
        """Measure ``run`` (best of ``repeats`` after ``warmup``) and append a result row; returns (row, output)."""
        flops = prediction_flops(self.folding_config, case.length, case.recycles)
        floor = floor_seconds(flops, *self.rates_for(case.impl, case.precision))
        row = asdict(case) | {"status": "ok", "seconds": None, "peak_gib": None, "flops": flops,
                              "floor_seconds": floor, "floor_ratio": None}  # fmt: skip
        output = None
        key = f"{case.impl}:{case.precision}"
        if not self.budget.allows(key, flops["total"], repeats + (0.3 if warmup else 0)):
            row["status"] = "skipped: deadline"
        else:
            try:
                row["seconds"], row["peak_gib"], output = measure(run, warmup, self.device, repeats)
                row["floor_ratio"] = row["seconds"] / row["floor_seconds"]
                self.budget.record(key, flops["total"], row["seconds"])
            except Exception as err:  # noqa: BLE001 - one failed length must not sink the run
                row["status"] = "oom" if is_oom(err) else f"error: {type(err).__name__}: {str(err).splitlines()[0]}"
                release(self.device)
        self.report["results"].append(row)
        self.save()
        print(f"[{self.budget.elapsed():7.1f}s] {case}: {row['status']} {row['seconds']}", file=sys.stderr, flush=True)
        return row, output

    # ---- models ------------------------------------------------------------------------------
    def reference_on_device(self):
        if self.reference is None:
            self.reference = build_reference(self.config, self.device, self.args.seed)
            # remyfold gets the same weights, in fp32, kept on the CPU between phases.
            self.state = {k: (v.detach().float() if v.is_floating_point() else v).cpu()
                          for k, v in self.reference.state_dict().items()}  # fmt: skip
        return self.reference.to(self.device)

    def park_reference(self) -> None:
        if self.reference is not None:
            self.reference.to("cpu")
        release(self.device)

    def folder(self, precision: str, chunk: int | None):
        from remyfold.api import Folder

        if not self.state:
            self.reference_on_device()
            self.park_reference()
        model = build_remyfold(self.config, self.state, self.device, self.args.attention)
        name = f"random-{self.args.config}"
        return Folder(model, device=self.device, precision=precision, chunk_size=chunk, model_name=name)

    # ---- phases ------------------------------------------------------------------------------
    def reference_lengths(self) -> None:
        """The reference at each length; an unchunked out-of-memory is retried with ``--ref-chunk``."""
        model, a = self.reference_on_device(), self.args
        with tf32(self.report["reference_setup"]["tf32"]):
            for length in a.lengths:
                seq = random_sequence(length, f"{a.seed}-{length}")
                for chunk in dict.fromkeys([None, a.ref_chunk]):
                    run = partial(reference_forward, model, seq, a.recycles, chunk)
                    warmup = partial(reference_forward, model, seq, 0, chunk)
                    case = Case("main", length, "reference", "fp32", chunk, a.recycles)
                    row, _ = self.timed_row(case, run, warmup, a.repeats)
                    if row["status"] != "oom":
                        break
        self.park_reference()

    def remyfold_lengths(self) -> None:
        """remyfold in every precision at each length (fp32 first: the drift baseline)."""
        for precision in self.args.precisions if self.args.lengths else []:
            self.remyfold_precision(precision)
            release(self.device)
            self.save()

    def remyfold_precision(self, precision: str) -> None:
        """remyfold in one precision at each length; fp32 predictions are kept, others compared with them."""
        a = self.args
        folder = self.folder(precision, a.chunk)
        for length in a.lengths:
            record = [(f"L{length}", random_sequence(length, f"{a.seed}-{length}"))]
            run = partial(folder.fold_batch, record, num_recycles=a.recycles)
            warmup = partial(folder.fold_batch, record, num_recycles=0)
            case = Case("main", length, "remyfold", precision, a.chunk, a.recycles)
            _, preds = self.timed_row(case, run, warmup, a.repeats)
            if preds is None:
                continue
            if precision == "fp32":
                self.fp32_predictions[length] = preds[0]
            elif length in self.fp32_predictions:
                self.report["drift"].append(drift_row(length, precision, preds[0], self.fp32_predictions[length]))

    def long_lengths(self) -> None:
        """Chunked long proteins: remyfold with ``--recycles`` (and ``--long-ref-recycles``), then the reference."""
        a = self.args
        compared = [n for n in a.long_lengths if a.reference and n <= a.long_ref_max]
        folder = self.folder(a.long_precision, a.long_chunk)
        for length in a.long_lengths:
            record = [(f"L{length}", random_sequence(length, f"{a.seed}-{length}"))]
            for recycles in dict.fromkeys([a.recycles] + ([a.long_ref_recycles] if length in compared else [])):
                run = partial(folder.fold_batch, record, num_recycles=recycles)
                self.timed_row(Case("long", length, "remyfold", a.long_precision, a.long_chunk, recycles), run, None, 1)
        del folder
        release(self.device)
        if compared:
            model = self.reference_on_device()
            with tf32(self.report["reference_setup"]["tf32"]):
                for length in compared:
                    seq = random_sequence(length, f"{a.seed}-{length}")
                    run = partial(reference_forward, model, seq, a.long_ref_recycles, a.ref_chunk)
                    case = Case("long", length, "reference", "fp32", a.ref_chunk, a.long_ref_recycles)
                    self.timed_row(case, run, None, 1)
            self.park_reference()

    def throughput(self) -> None:
        """N seeded sequences: remyfold batched as ``remyfold predict`` plans it; the reference one by one."""
        from throughput import reference_rate, remyfold_rate, throughput_records

        a = self.args
        records = throughput_records(a.throughput, a.seed, a.throughput_lengths, random_sequence)
        folder = self.folder(a.throughput_precision, None)
        remy = remyfold_rate(folder, records, a.recycles, a.max_tokens_per_batch, self.device)
        del folder
        release(self.device)
        result = {"n": len(records), "lengths": list(a.throughput_lengths), "recycles": a.recycles,
                  "max_tokens_per_batch": a.max_tokens_per_batch, "remyfold": remy, "reference": None}  # fmt: skip
        if a.reference:
            model = self.reference_on_device()
            with tf32(self.report["reference_setup"]["tf32"]):
                result["reference"] = reference_rate(
                    lambda seq: reference_forward(model, seq, a.recycles, None), records,
                    a.throughput_ref_sample, a.seed, self.budget, self.device)  # fmt: skip
            self.park_reference()
            ref_rate = (result["reference"] or {}).get("sequences_per_second")
            if ref_rate and remy.get("sequences_per_second"):
                result["speedup"] = remy["sequences_per_second"] / ref_rate
        self.report["throughput"] = result
        self.save()

    def run(self) -> dict:
        a = self.args
        needed = {rate_key(p) for p in a.precisions} | ({"fp16", "tf32"} if self.device.type == "cuda" else set())
        self.report["matmul_tflops"] = matmul_rates(self.device, needed)
        if a.reference:
            self.reference_lengths()
            self.save()
        self.remyfold_lengths()
        if a.long:
            self.long_lengths()
        if a.throughput:
            self.throughput()
        self.report["complete"] = True
        self.save()
        return self.report


def speedups(results: list[dict]) -> list[dict]:
    """Reference seconds / remyfold seconds for every (group, length, recycles) both measured."""
    out = []
    for ref in (r for r in results if r["impl"] == "reference" and r["status"] == "ok"):
        same = {key: ref[key] for key in ("group", "length", "recycles")}
        mine = {r["precision"]: ref["seconds"] / r["seconds"] for r in results if r["impl"] == "remyfold"
                and r["status"] == "ok" and all(r[k] == v for k, v in same.items())}  # fmt: skip
        if mine:
            out.append(same | {"reference_seconds": ref["seconds"], "reference_chunk": ref["chunk"], "remyfold": mine})
    return out


def merge_reports(reports: list[dict]) -> dict:
    """One report from several runs on the same set-up (e.g. a main run and a ``--long`` run): lists joined."""
    merged = dict(reports[0])
    for key in ("results", "drift"):
        merged[key] = [row for report in reports for row in report.get(key, [])]
    merged["speedup"] = speedups(merged["results"])
    merged["throughput"] = next((r["throughput"] for r in reports if r.get("throughput")), None)
    merged["complete"] = all(r.get("complete") for r in reports)
    merged["wall_seconds"] = sum(r.get("wall_seconds") or 0 for r in reports)
    return merged


def engine_attention() -> str:
    """The attention implementation ``remyfold predict`` runs (``Folder.from_pretrained(attention="auto")``)."""
    from remyfold.api import DEFAULT_ATTENTION

    return DEFAULT_ATTENTION


def int_list(text: str) -> list[int]:
    """``"128,256"`` → ``[128, 256]`` (positive integers, sorted, unique); ``none`` → ``[]``."""
    if text.strip().lower() == "none":
        return []
    try:
        values = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated lengths such as 128,256") from None
    if not values or values[0] <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: lengths must be positive integers")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from remyfold.model.primitives import ATTENTION_KINDS
    from remyfold.settings import CUDA_ONLY_PRECISIONS, DEFAULT_MAX_TOKENS_PER_BATCH, PRECISIONS

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", choices=("full", *SCALED), default="full", help="network size (default: esmfold_v1)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--lengths", type=int_list, default=int_list("128,256,384,512,1024"),
                   help="comma-separated lengths, or none (e.g. for a --long-only run)")
    p.add_argument("--recycles", type=int, default=4)
    p.add_argument("--repeats", type=int, default=2, help="timed runs per length, best kept (after a warm-up)")
    portable = [p for p in PRECISIONS if p not in CUDA_ONLY_PRECISIONS]  # tf32 is measured by gpu/h100_check.py
    p.add_argument("--precisions", default=",".join(portable), help=f"remyfold modes, of {', '.join(PRECISIONS)}")
    p.add_argument("--attention", choices=ATTENTION_KINDS, default=engine_attention(),
                   help="remyfold attention implementation (default: the one remyfold predict loads)")
    p.add_argument("--chunk", type=int, default=None, help="remyfold chunk size at --lengths (default: none)")
    p.add_argument("--reference", action=argparse.BooleanOptionalAction, default=True, help="also run the reference")
    p.add_argument("--ref-chunk", type=int, default=64, help="reference chunk size for long / out-of-memory runs")
    p.add_argument("--ref-tf32", action=argparse.BooleanOptionalAction, default=True, help="reference TF32 (CUDA)")
    p.add_argument("--long", action="store_true", help="also run --long-lengths with chunking")
    p.add_argument("--long-lengths", type=int_list, default=int_list("2048,3072,4096"))
    p.add_argument("--long-chunk", type=int, default=64, help="remyfold chunk size at long lengths")
    p.add_argument("--long-ref-recycles", type=int, default=0, help="recycles of long runs vs the reference")
    p.add_argument("--long-ref-max", type=int, default=2048, help="longest long length the reference runs")
    p.add_argument("--throughput", type=int, default=0, metavar="N", help="sequences in the throughput test (0: none)")
    p.add_argument("--throughput-lengths", type=int_list, default=int_list("50,400"), metavar="MIN,MAX",
                   help="length range of the throughput sequences (default: 50,400)")
    p.add_argument("--throughput-ref-sample", type=int, default=50, help="sequences the reference folds one by one")
    p.add_argument("--max-tokens-per-batch", type=int, default=DEFAULT_MAX_TOKENS_PER_BATCH)
    p.add_argument("--long-precision", help="remyfold mode for long lengths (default: last of --precisions)")
    p.add_argument("--throughput-precision", help="remyfold mode for throughput (default: last of --precisions)")
    p.add_argument("--deadline", type=float, default=0, help="seconds; skip runs predicted to end later")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="JSON to write (required unless --from-json)")
    p.add_argument("--markdown", type=Path, help="also write a markdown table here")
    p.add_argument("--from-json", type=Path, nargs="+", help="only render --markdown from earlier JSON(s), merged")
    args = p.parse_args(argv)
    check_args(p, args, PRECISIONS)
    return args


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace, precisions: tuple[str, ...]) -> None:
    """Validate option values and fill the precision defaults (``parser.error`` exits 2 with one line)."""
    if args.from_json is not None:
        if args.markdown is None:
            parser.error("--from-json needs --markdown PATH to write the table to")
        return
    if args.out is None:
        parser.error("--out PATH is required: where to write the JSON results")
    chosen = [p.strip() for p in args.precisions.split(",") if p.strip()]
    unknown = [p for p in chosen if p not in precisions]
    if unknown or not chosen:
        parser.error(f"--precisions {args.precisions!r}: choose from {', '.join(precisions)}")
    args.precisions = sorted(set(chosen), key=lambda p: (p != "fp32", chosen.index(p)))  # fp32 (baseline) first
    for flag in ("long_precision", "throughput_precision"):
        value = getattr(args, flag) or args.precisions[-1]
        if value not in precisions:
            parser.error(f"--{flag.replace('_', '-')} {value}: choose from {', '.join(precisions)}")
        setattr(args, flag, value)
    for flag in ("recycles", "long_ref_recycles"):
        if getattr(args, flag) < 0:
            parser.error(f"--{flag.replace('_', '-')} must be 0 or more")
    for flag in ("repeats", "ref_chunk", "long_chunk", "throughput_ref_sample", "max_tokens_per_batch"):
        if getattr(args, flag) <= 0:
            parser.error(f"--{flag.replace('_', '-')} must be a positive number")
    if len(args.throughput_lengths) != 2:
        parser.error("--throughput-lengths needs two different lengths MIN,MAX")
    if args.chunk is not None and args.chunk <= 0:
        parser.error("--chunk must be a positive number of rows")


def main(argv: list[str] | None = None) -> int:
    from remyfold.errors import InputError
    from remyfold.io.atomic import write_text_atomic

    args = parse_args(argv)
    try:
        if args.from_json is not None:
            report = merge_reports([json.loads(path.read_text()) for path in args.from_json])
        else:
            report = Bench(args).run()
    except (InputError, OSError, json.JSONDecodeError) as err:
        print(f"bench: error: {err}", file=sys.stderr)
        return 2
    if args.markdown is not None:
        write_text_atomic(args.markdown, render_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
