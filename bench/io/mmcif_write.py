"""Time writing one prediction as PDB and as ModelCIF, and the two ways of writing its pairwise PAE.

    python bench/io/mmcif_write.py --length 1000 --out bench/results/mmcif-write.md

The prediction is synthetic (no model): two chains (60 % and 40 % of ``--length``) of random
residues with every atom37 slot that residue type has, random coordinates, pLDDT and PAE.
Measured in one process, side by side, best of ``--repeats``:

- ``to_pdb_string`` and ``to_mmcif_string`` (the files ``remyfold predict`` writes);
- the pairwise PAE table: the reference (one ``modelcif`` metric object per residue pair,
  ``build_system(pred, pae=True)`` dumped by the ``modelcif`` package) against
  ``to_mmcif_string(pred, pae=True)`` (rows formatted from the array,
  :mod:`remyfold.io.modelcif_pae`), one call each.

Wall-clock times: on a shared machine, compare rows of one run only.
"""

from __future__ import annotations

import argparse
import datetime
import io
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from remyfold import __version__
from remyfold.io.residues import RESTYPES
from remyfold.io.structure_writer import to_mmcif_string, to_pdb_string
from remyfold.model.residue_tables import residue_tables
from remyfold.prediction import Chain, Prediction


def synthetic_prediction(length: int, seed: int = 0) -> Prediction:
    """A two-chain prediction of ``length`` residues with full side chains and random values."""
    rng = np.random.default_rng(seed)
    lengths = [length * 3 // 5, length - length * 3 // 5]
    aatype = rng.integers(0, len(RESTYPES), size=length)
    chains = []
    for i, n in enumerate(lengths):
        start = sum(lengths[:i])
        chains.append(Chain(chr(ord("A") + i), "".join(RESTYPES[a] for a in aatype[start : start + n])))
    return Prediction(
        id="bench", chains=chains, aatype=aatype,
        positions=(rng.normal(size=(length, 37, 3)) * 30).astype(np.float32),
        atom_mask=residue_tables().atom37_mask[aatype] > 0,
        plddt=rng.uniform(0, 100, size=(length, 37)).astype(np.float32),
        pae=rng.uniform(0, 31.75, size=(length, length)).astype(np.float32), ptm=0.8,
        chain_index=np.repeat(np.arange(len(lengths)), lengths),
        residue_number=np.concatenate([np.arange(1, n + 1) for n in lengths]), num_recycles=3,
    )  # fmt: skip


def reference_pae_text(pred: Prediction) -> str:
    """ModelCIF text with the PAE written through one ``modelcif`` object per residue pair."""
    import modelcif.dumper

    from remyfold.io.modelcif_writer import build_system

    out = io.StringIO()
    modelcif.dumper.write(out, [build_system(pred, pae=True)])
    return out.getvalue()


def best_seconds(fn, repeats: int) -> tuple[float, int]:
    """Best wall time of ``repeats`` calls of ``fn()`` and the length of its text."""
    best, size = float("inf"), 0
    for _ in range(repeats):
        start = time.perf_counter()
        size = len(fn())
        best = min(best, time.perf_counter() - start)
    return best, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=1000, help="residues (default 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per writer, best kept (default 3)")
    parser.add_argument("--out", type=Path, help="write the Markdown table here (default: print it)")
    args = parser.parse_args(argv)
    pred = synthetic_prediction(args.length)
    rows = []
    for name, fn, repeats in [
        ("PDB (`to_pdb_string`)", lambda: to_pdb_string(pred), args.repeats),
        ("ModelCIF (`to_mmcif_string`)", lambda: to_mmcif_string(pred), args.repeats),
        ("ModelCIF + PAE, reference (modelcif objects)", lambda: reference_pae_text(pred), 1),
        ("ModelCIF + PAE (`to_mmcif_string(pae=True)`)", lambda: to_mmcif_string(pred, pae=True), 1),
    ]:
        seconds, size = best_seconds(fn, repeats)
        rows.append((name, seconds, size))
        print(f"{name}: {seconds:.3f} s", file=sys.stderr)
    text = _markdown(pred, rows)
    if args.out:
        args.out.write_text(text)
    else:
        print(text)
    return 0


def _markdown(pred: Prediction, rows) -> str:
    commit = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], capture_output=True, text=True).stdout.strip()
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    lines = [
        f"**{platform.machine()}** CPU ({platform.processor() or 'unknown'}), Python {platform.python_version()}, "
        f"remyfold {__version__} at `{commit}`, {now}.",
        f"Synthetic prediction: {pred.length} residues in {len(pred.chains)} chains, {int(pred.atom_mask.sum())} atoms.",
        "Wall-clock seconds (best of the repeats; one call for the PAE rows) on a CPU that may be shared:",
        "compare rows of one run only.",
        "",
        "| writer | seconds | MB written |",
        "|---|---:|---:|",
    ]
    for name, seconds, size in rows:
        lines.append(f"| {name} | {seconds:.3f} | {size / 1e6:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
