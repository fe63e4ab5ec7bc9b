"""``remyfold pockets STRUCTURE``: candidate binding pockets, ranked.

Prints rank, score, centre, volume, lining residues and, for remyfold models,
the mean Cα pLDDT of the lining residues (flagged ``LOW`` below 70) as a table,
or as JSON with ``--json``. Needs the ``remyfold[dock]`` extra.
"""

from __future__ import annotations

import argparse

HELP = "Find and rank candidate binding pockets of a structure (table or --json); needs the remyfold[dock] extra."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``pockets`` options."""
    parser.add_argument("structure", metavar="STRUCTURE",
                        help="PDB or mmCIF file (optionally .gz), or a PDB id / UniProt accession (fetched, see remyfold fetch)")
    parser.add_argument("--chain", metavar="IDS",
                        help="only these protein chains, comma-separated (default: every chain)")
    parser.add_argument("--top", type=int, default=10, metavar="N", help="show the N best pockets (default: 10)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    """Find the pockets and print them."""
    import json

    from remyfold.commands.inputs import check_structure, parse_chains, structure_path
    from remyfold.dock.errors import DockError
    from remyfold.dock.pockets import find_pockets
    from remyfold.dock.receptor import load_receptor

    if args.top < 1:
        raise DockError(f"--top {args.top}: give at least 1")
    path = structure_path(args.structure)
    check_structure(path)
    chains = parse_chains(args.chain, path)
    receptor = load_receptor(path, chains=chains)
    pockets = [p.as_dict(receptor) for p in find_pockets(receptor)[: args.top]]
    if args.json:
        print(json.dumps({"structure": args.structure, "pockets": pockets}, indent=1))
    else:
        print(pockets_table(pockets))
    return 0


def pockets_table(pockets: list[dict]) -> str:
    """A fixed-width table; residues cut to the first eight."""
    if not pockets:
        return "no pockets found"
    lines = [f"{'rank':>4}  {'score':>8}  {'centre (Å)':<26}  {'volume(Å³)':>10}  {'pLDDT':>7}  residues"]
    for p in pockets:
        centre = ",".join(f"{v:.1f}" for v in p["centre"])
        plddt = "-" if p["mean_plddt"] is None else f"{p['mean_plddt']:.1f}" + (" LOW" if p["low_confidence"] else "")
        residues = " ".join(p["residues"][:8]) + (f" (+{len(p['residues']) - 8})" if len(p["residues"]) > 8 else "")
        lines.append(f"{p['rank']:>4}  {p['score']:>8.1f}  {centre:<26}  {p['volume_A3']:>10.1f}  {plddt:>7}  {residues}")
    return "\n".join(lines)
