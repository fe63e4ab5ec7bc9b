"""``remyfold compare MODEL... REFERENCE``: score structures against a reference.

Prints TM-score, GDT-TS, GDT-HA, Cα RMSD, lDDT (all-atom and Cα), aligned
residues and sequence identity, as a table (several models sorted by TM-score)
or, with ``--json``, as one JSON object per model (a list for several models).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from remyfold.errors import InputError
from remyfold.io.structure_files import SUPPORTED

BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
HELP = "Score predicted (or any) structures against a reference: TM-score, GDT, RMSD, lDDT."

# (column title, result key, format) of the table.
COLUMNS = (
    ("TM-score", "tm_score", "{:.4f}"),
    ("GDT-TS", "gdt_ts", "{:.4f}"),
    ("GDT-HA", "gdt_ha", "{:.4f}"),
    ("RMSD(Å)", "rmsd", "{:.3f}"),
    ("lDDT", "lddt", "{:.4f}"),
    ("lDDT-Cα", "lddt_ca", "{:.4f}"),
    ("Aligned", "aligned_residues", "{:d}"),
    ("SeqID", "sequence_identity", "{:.1%}"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``compare`` options."""
    parser.usage = "%(prog)s MODEL [MODEL ...] REFERENCE [--json] [--model N] [--chain IDS | --chain-map M:R,...] [--pairing HOW]"
    parser.add_argument(
        "files",
        nargs="+",
        metavar="MODEL [MODEL ...] REFERENCE",
        help="one or more model structures, then the reference structure (the LAST file); "
        f"{SUPPORTED}",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print JSON (a list when several models) instead of a table",
    )
    parser.add_argument(
        "--model",
        type=int,
        default=1,
        metavar="N",
        help="score the N-th model of multi-model MODEL files (default: 1, the first); see --reference-model",
    )
    parser.add_argument(
        "--reference-model",
        type=int,
        default=1,
        metavar="N",
        help="use the N-th model of a multi-model REFERENCE (default: 1, the first)",
    )
    parser.add_argument(
        "--pairing",
        choices=("auto", "sequence", "numbering", "structure"),
        default="auto",
        help="how residues are paired: by residue numbering, by sequence alignment (BLOSUM62), or by structure "
        "alignment (TM-align, needs remyfold[structure]); auto (default) takes numbering where both chains "
        "number alike, else the sequence alignment, and the structure alignment below 50%% sequence identity (more for short alignments)",
    )
    chains = parser.add_mutually_exclusive_group()
    chains.add_argument(
        "--chain",
        metavar="IDS",
        help="reference chains to score, comma-separated (e.g. A or A,B); paired with model chains of the same "
        "id, or with the model's only chain (default: every reference chain counts, those the model lacks as "
        "unaligned)",
    )
    chains.add_argument(
        "--chain-map",
        metavar="M:R,...",
        help="pair model chain M with reference chain R, e.g. A:B,B:C (default: pair chains by id)",
    )


def run(args: argparse.Namespace) -> int:
    """Compare every model with the reference and print the scores."""
    # The superposition search multiplies many small matrices, where one BLAS thread is fastest and
    # more only spin; read when numpy loads (below), so set first. A user's own setting wins.
    for variable in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(variable, "1")
    _keep_freed_memory()
    from remyfold.metrics import RESULT_KEYS, compare_structures

    if len(args.files) < 2:
        raise InputError(
            "compare needs at least two files: MODEL [MODEL ...] REFERENCE (the last one is the reference)"
        )
    for option, value in (("--model", args.model), ("--reference-model", args.reference_model)):
        if value < 1:
            raise InputError(f"{option} {value} is not a model number; models count from 1")
    *models, reference = args.files
    results = [
        compare_structures(
            model,
            reference,
            model_index=args.model,
            chains=args.chain,
            chain_map=args.chain_map,
            reference_model_index=args.reference_model,
            pairing=args.pairing,
        )
        for model in models
    ]
    for result in results:
        for warning in result["warnings"]:
            print(f"remyfold compare: warning: {result['model']}: {warning}", file=sys.stderr)
    if args.json:
        objects = [_json_object(result, RESULT_KEYS) for result in results]
        print(json.dumps(objects[0] if len(objects) == 1 else objects, indent=2))
    else:
        print(format_table(results))
    return 0


def _keep_freed_memory() -> None:
    """Let glibc reuse freed blocks instead of unmapping them (this process only).

    The metrics allocate and free many temporaries of a few MB; by default glibc gives each back to
    the system and the next one is faulted in page by page again (a third of the run time in system
    time at 1,000 residues). Raising the mmap and trim thresholds keeps them in the heap. Elsewhere
    than glibc this does nothing.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 64 << 20)
    mallopt(m_trim_threshold, 256 << 20)


def _json_object(result: dict, keys: tuple[str, ...]) -> dict:
    """The documented keys first, in order, then the extra ones."""
    return {
        **{key: result[key] for key in keys},
        **{k: v for k, v in result.items() if k not in keys},
    }


def format_table(results: list[dict]) -> str:
    """A plain-text table of results, best TM-score first, under a line naming the reference."""
    ordered = sorted(results, key=lambda result: result["tm_score"], reverse=True)
    first = ordered[0]
    chains = ",".join(pair["reference"] or "-" for pair in first["chain_pairs"])
    model = first.get("reference_model_index", 1)
    of_models = f"model {model} of {first['reference_models']}; " if first.get("reference_models", 1) > 1 else ""
    missing = f", missing from the model: {','.join(first['missing_chains'])}" if first["missing_chains"] else ""
    length = first["reference_length"]
    header = f"Reference: {first['reference']} ({of_models}chains {chains}{missing}; {length} residues)"
    pairing = "Pairing: " + "; ".join(
        f"{pair['model']}->{pair['reference']} by {pair['pairing']} ({pair['pairing_reason']})"
        for pair in first["chain_pairs"]
    )
    titles = ["Model"] + [title for title, _, _ in COLUMNS]
    rows = [
        [_model_label(result)] + ["–" if result[key] is None else fmt.format(result[key]) for _, key, fmt in COLUMNS]
        for result in ordered
    ]
    widths = [max(len(row[i]) for row in [titles] + rows) for i in range(len(titles))]

    def line(cells: list[str]) -> str:
        # Model name left-aligned, numbers right-aligned.
        return "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width) for i, (cell, width) in enumerate(zip(cells, widths))
        )

    lddt_note = ["lDDT is Cα lDDT (Cα-only model)"] if any(r["lddt_atoms"] == "CA" for r in ordered) else []
    table = [line(titles), line(["-" * w for w in widths])] + [line(row) for row in rows]
    return "\n".join([header, pairing, *table, *lddt_note])


def _model_label(result: dict) -> str:
    """The model file, with ``#N`` when a model other than the first was scored."""
    index = result.get("model_index", 1)
    return result["model"] if index == 1 else f"{result['model']}#{index}"
