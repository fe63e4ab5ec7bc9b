"""``remyfold dock RECEPTOR... --ligand L... --out DIR``: AutoDock Vina docking, receptors × ligands.

``--ligand`` takes catalog drug names (``remyfold targets``), SMILES or SDF
files, several times or comma-free values. ``--pocket auto`` docks into the
top-ranked pocket (``remyfold pockets``), ``--pocket N`` into the N-th;
``--box CX,CY,CZ,SX,SY,SZ`` gives the search box in Å instead. Outputs and
resumption: see :mod:`remyfold.dock.runner`. Needs the ``remyfold[dock]`` extra.
"""

from __future__ import annotations

import argparse
import sys

HELP = "Dock drugs (catalog names, SMILES or SDF) into receptor structures with AutoDock Vina."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``dock`` options."""
    parser.usage = ("%(prog)s RECEPTOR [RECEPTOR ...] --ligand NAME|SMILES|FILE.sdf [...] --out DIR "
                    "[--pocket auto|N] [--box CX,CY,CZ,SX,SY,SZ] [--exhaustiveness N] [--seed S] [--poses N]")
    parser.add_argument("receptors", nargs="+", metavar="RECEPTOR", help="PDB or mmCIF files (protein)")
    parser.add_argument("--ligand", action="append", required=True, nargs="+", metavar="LIGAND",
                        help="catalog drug name, SMILES, or .sdf file (repeatable)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (created; reruns resume)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--pocket", default="auto", metavar="auto|N",
                       help="dock into the top-ranked pocket (auto, default) or the N-th")
    where.add_argument("--box", metavar="CX,CY,CZ,SX,SY,SZ", help="search box centre and sizes in Å")
    parser.add_argument("--exhaustiveness", type=int, default=8, metavar="N", help="Vina exhaustiveness (default 8)")
    parser.add_argument("--seed", type=int, default=42, metavar="S", help="random seed (default 42)")
    parser.add_argument("--poses", type=int, default=9, metavar="N", help="poses kept per pair (default 9)")


def run(args: argparse.Namespace) -> int:
    """Resolve the ligands and box, dock every pair, print the summary path."""
    from pathlib import Path

    from remyfold.dock.box import parse_box
    from remyfold.dock.errors import DockError
    from remyfold.dock.ligand import resolve_ligand
    from remyfold.dock.runner import SUMMARY, DockJob, run_docking
    from remyfold.dock.vina_dock import DockSettings

    pocket = args.pocket.strip().lower()
    if pocket != "auto" and not (pocket.isdigit() and int(pocket) >= 1):
        raise DockError(f"--pocket {args.pocket!r}: give auto or a pocket rank (1, 2, ...)")
    for path in args.receptors:
        if not Path(path).is_file():
            raise DockError(f"receptor file {path} does not exist")
    values = [value for group in args.ligand for value in group]
    ligands = tuple(resolve_ligand(value) for value in values)
    names = [spec.name for spec in ligands]
    if len(set(names)) != len(names):
        raise DockError(f"the same ligand is given twice: {', '.join(names)}")
    job = DockJob(
        receptors=tuple(Path(p) for p in args.receptors),
        ligands=ligands,
        out_dir=Path(args.out),
        pocket=pocket,
        box=parse_box(args.box) if args.box else None,
        settings=DockSettings(args.exhaustiveness, args.seed, args.poses),
    )
    rows = run_docking(job, progress=sys.stderr.isatty())
    best = {}
    for row in rows:
        key = (row["receptor"], row["ligand"])
        if row["pose_rank"] == 1:
            best[key] = row["vina_kcal_mol"]
    for (receptor, ligand), score in best.items():
        print(f"{receptor}\t{ligand}\t{score:.2f} kcal/mol")
    print(f"summary: {Path(args.out) / SUMMARY}", file=sys.stderr)
    return 0
