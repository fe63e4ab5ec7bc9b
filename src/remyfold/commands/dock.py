"""``remyfold dock RECEPTOR... --ligand L... --out DIR``: AutoDock Vina docking, receptors × ligands.

``--ligand`` takes catalog drug names (``remyfold targets``), SMILES, ``NAME=SMILES`` or SDF
files (every molecule of the file), several times or several values each. ``--pocket auto``
(the default) docks into each of the ``--pockets N`` (default 3) top-ranked pockets of
``remyfold pockets`` (druggability order) and ranks the poses across them, ``--pocket N`` into
the N-th only;
``--box CX,CY,CZ,SX,SY,SZ`` gives the search box in Å instead (a negative first number is
fine: ``--box -4.9,...``); ``--site-ligand``, ``--site-residues`` or ``--site-from`` give a known
site instead (:mod:`remyfold.dock.site`). Inputs, ligands, the output folder and every pair's search
boxes are checked before any receptor is prepared or pair docked; an early failure leaves no folder
behind. Outputs and resumption: see :mod:`remyfold.dock.runner`. Needs the ``remyfold[dock]`` extra.

A RECEPTOR that is no existing file but a PDB id or UniProt accession is fetched first
(``remyfold fetch``) and docked as the cached mmCIF, named by the id.
"""

from __future__ import annotations

import argparse
import sys

HELP = "Dock drugs (catalog names, SMILES or SDF) into receptor structures with AutoDock Vina; needs remyfold[dock]."
#: Options whose value may start with "-" (a negative number): the CLI passes them as --opt=VALUE.
NEGATIVE_VALUE_OPTIONS = ("--box",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``dock`` options."""
    from remyfold.dock.box import MAX_SIDE_LIMIT
    from remyfold.dock.ligand_screen import MAX_HEAVY_ATOMS, MAX_ROTATABLE_BONDS
    from remyfold.dock.receptor_prep import LIGAND_CHARGES
    from remyfold.dock.runner import DEFAULT_POCKETS
    from remyfold.dock.vina_dock import RANKINGS
    from remyfold.targets.catalog import load_catalog

    parser.usage = "%(prog)s RECEPTOR [RECEPTOR ...] --ligand LIGAND [LIGAND ...] --out DIR [options]"
    drugs = ", ".join(drug.name for drug in load_catalog().drugs)
    parser.epilog = (f"catalog drugs: {drugs}. Ligands beyond Vina's reach are refused: more than "
                     f"{MAX_HEAVY_ATOMS} heavy atoms or {MAX_ROTATABLE_BONDS} rotatable bonds, metal complexes, "
                     "ions only; a salt docks its largest fragment (the dropped ones are named).")  # fmt: skip
    parser.add_argument("receptors", nargs="+", metavar="RECEPTOR",
                        help="PDB or mmCIF files (protein), or PDB ids / UniProt accessions (fetched, see remyfold fetch)")
    parser.add_argument("--ligand", action="append", required=True, nargs="+", metavar="LIGAND",
                        help="catalog drug name, SMILES, NAME=SMILES, or .sdf file (each molecule docked); "
                        "repeatable")  # fmt: skip
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (created; reruns resume)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--pocket", default="auto", metavar="auto|N",
                       help="dock into the top-ranked pockets (auto; see --pockets) or the N-th only (default: auto)")
    where.add_argument("--box", metavar="CX,CY,CZ,SX,SY,SZ",
                       help=f"search box centre and side lengths in Å (sides up to {MAX_SIDE_LIMIT:.0f}); "
                       "instead of --pocket")
    _add_site_arguments(where)
    parser.add_argument("--pockets", type=int, default=None, metavar="N",
                        help=f"with --pocket auto: dock into the N top-ranked pockets and rank the poses across "
                        f"them (default: {DEFAULT_POCKETS})")  # fmt: skip
    parser.add_argument("--exhaustiveness", type=int, default=32, metavar="N",
                        help="Vina exhaustiveness (default: 32, the PoseBusters protocol)")
    parser.add_argument("--seed", type=int, default=42, metavar="S", help="random seed of the first search (default: 42)")
    parser.add_argument("--poses", type=int, default=9, metavar="N", help="poses kept per pair (default: 9)")
    parser.add_argument("--searches", type=int, default=2, metavar="N",
                        help="independent Vina searches, seeds S, S+1, ...; their top poses are compared (default: 2)")
    parser.add_argument("--cpu", type=int, default=0, metavar="N", help="cores for Vina (default: 0, all available)")
    parser.add_argument("--ranking", choices=RANKINGS, default="vina",
                        help="rank the poses found by Vina's score (default) or by AutoDock4's (ad4: right more "
                        "often in the redocking benchmark; needs autogrid4, a GPL program: apt-get install autogrid)")
    parser.add_argument("--ph", type=float, default=7.4, metavar="PH",
                        help="pH of the receptor's protonation states and the ligands' ionisation (default: 7.4)")
    parser.add_argument("--ligand-charges", choices=LIGAND_CHARGES, default="ph",
                        help="ph (default): charge the ligands' acids and bases as at --ph (amines, amidines, "
                        "carboxylic and phosphoric acids...); as-given: dock the charges the SMILES or SDF states")


def _add_site_arguments(where) -> None:
    """The known-site options (:mod:`remyfold.dock.site`), in the --pocket/--box group."""
    where.add_argument("--site-ligand", metavar="FILE", help="box around a ligand: .sdf/.mol2 file, or "
                       "STRUCTURE.pdb|cif:LIG (a ligand residue in it)")  # fmt: skip
    where.add_argument("--site-residues", metavar="A:123,A:127,...",
                       help="box around these receptor residues (CHAIN:NUMBER or CHAIN:RESNAMENUMBER)")
    where.add_argument("--site-from", metavar="HOMOLOG:LIG",
                       help="box around the ligand LIG (RESNAME, CHAIN:RESNAME or CHAIN:RESNAME:NUM) of a homolog's "
                       "PDB/mmCIF complex, superposed onto the receptor as remyfold compare does")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Check every input, dock every pair, print the best score per pair and the summary path."""
    from pathlib import Path

    from remyfold.dock.runner import SUMMARY, run_docking
    from remyfold.io.outputs import prepare_folder_output, remove_created_dirs

    job = _job(args)
    created = prepare_folder_output(args.out)
    try:
        rows = run_docking(job, progress=sys.stderr.isatty())
    except BaseException:
        remove_created_dirs(created)  # only folders this run created, and only when still empty
        raise
    for row in (row for row in rows if row["pose_rank"] == 1):
        ad4 = row.get("ad4_kcal_mol")
        print(f"{row['receptor']}\t{row['ligand']}\t{row['vina_kcal_mol']:.2f} kcal/mol"
              + ("" if ad4 is None else f" (AutoDock4 {ad4:.2f} kcal/mol)"))
    print(f"summary: {Path(args.out) / SUMMARY}", file=sys.stderr)
    return 0


def _job(args: argparse.Namespace):
    """The :class:`~remyfold.dock.runner.DockJob` of the options, every input checked (DockError otherwise)."""
    from pathlib import Path

    from remyfold.commands.inputs import check_structure, structure_path
    from remyfold.dock.box import parse_box
    from remyfold.dock.errors import DockError
    from remyfold.dock.ligand import resolve_ligands
    from remyfold.dock.runner import DockJob
    from remyfold.dock.site import parse_site
    from remyfold.dock.receptor_prep import PrepSettings
    from remyfold.dock.vina_dock import DockSettings

    args.receptors = [structure_path(value) for value in args.receptors]  # ids -> fetched files
    if args.site_from:  # --site-from 4K6I:REA: the homolog by id
        args.site_from = _homolog_by_id(args.site_from)
    pocket = args.pocket.strip().lower()
    if pocket != "auto" and not (pocket.isdigit() and int(pocket) >= 1):
        raise DockError(f"--pocket {args.pocket!r}: give auto or a pocket rank (1, 2, ...)")
    pockets = _pockets(args, pocket)
    settings = DockSettings(args.exhaustiveness, args.seed, args.poses, args.searches, args.cpu, args.ranking)
    if settings.ranking == "ad4":
        from remyfold.dock.ad4_ranking import check_autogrid

        check_autogrid()
    prep = PrepSettings(args.ph, args.ligand_charges)
    box = parse_box(args.box) if args.box else None
    site = next((parse_site(kind, value) for kind, value in
                 (("ligand", args.site_ligand), ("residues", args.site_residues), ("from", args.site_from)) if value),
                None)  # fmt: skip
    for path in args.receptors:
        check_structure(path)
    ligands = tuple(spec for group in args.ligand for value in group for spec in resolve_ligands(value))
    names = [spec.name for spec in ligands]
    if len(set(names)) != len(names):
        raise DockError(f"the same ligand is given twice: {', '.join(names)}")
    for spec in ligands:
        if spec.dropped:
            print(f"remyfold dock: warning: ligand {spec.name}: docking its largest fragment, "
                  f"dropped {' '.join(spec.dropped)}", file=sys.stderr)  # fmt: skip
        _warn_near_pka(spec, prep)
    return DockJob(receptors=tuple(Path(p) for p in args.receptors), ligands=ligands, out_dir=Path(args.out),
                   pocket=pocket, box=box, site=site, settings=settings, prep=prep, pockets=pockets)


def _warn_near_pka(spec, prep) -> None:
    """Warn of a ligand group whose pKa is within a unit of the pH: it is docked as given, which may be wrong."""
    from remyfold.dock.ligand import ligand_ionisation

    near = ligand_ionisation(spec, prep.ligand_ph).get("near_pka", [])
    if near:
        print(f"remyfold dock: warning: ligand {spec.name}: {'; '.join(near)}: pKa within one unit of pH "
              f"{prep.ph}, docked as given; to choose its state give NAME=SMILES with the charge and "
              "--ligand-charges as-given", file=sys.stderr)  # fmt: skip


def _pockets(args: argparse.Namespace, pocket: str) -> int:
    """How many top-ranked pockets to dock: ``--pockets`` (only with ``--pocket auto``) or the default."""
    from remyfold.dock.errors import DockError
    from remyfold.dock.runner import DEFAULT_POCKETS

    if args.pockets is None:
        return DEFAULT_POCKETS
    if pocket != "auto" or args.box or args.site_ligand or args.site_residues or args.site_from:
        raise DockError(f"--pockets {args.pockets}: only with the pocket found automatically (--pocket auto); "
                        "drop --pockets or the --pocket N/--box/--site-* option")
    if args.pockets < 1:
        raise DockError(f"--pockets {args.pockets}: give how many top-ranked pockets to dock (1, 2, ...)")
    return args.pockets


def _homolog_by_id(value: str) -> str:
    """``ID:LIG`` -> ``<fetched mmCIF>:LIG`` when ``ID`` is a PDB id or UniProt accession and no such file
    exists (:func:`remyfold.commands.inputs.structure_path`); any other value unchanged."""
    from pathlib import Path

    from remyfold.commands.inputs import structure_path

    head, sep, ligand = value.strip().partition(":")
    if not sep or Path(head).exists():
        return value
    fetched = structure_path(head)
    return value if fetched == head else f"{fetched}:{ligand}"
