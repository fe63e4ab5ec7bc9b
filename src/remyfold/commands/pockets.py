"""``remyfold pockets STRUCTURE``: candidate binding pockets, ranked.

Prints rank, druggability score (:func:`remyfold.dock.pockets.site_score`) and
its terms (volume, enclosure, hydropathy), mean depth, centre, lining residues
and, for remyfold models, the mean Cα pLDDT of the lining residues (flagged
``LOW`` below 70) as a table, or as JSON with ``--json``. Needs the
``remyfold[dock]`` extra.
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
    """A fixed-width table (druggability score and its terms: volume, enclosure, hydropathy; depth); residues
    cut to the first eight."""
    if not pockets:
        return "no pockets found"
    lines = [f"{'rank':>4}  {'score':>6}  {'centre (Å)':<22}  {'volume(Å³)':>10}  {'enclosure':>9}  {'hydropathy':>10}  "
             f"{'depth(Å)':>8}  {'pLDDT':>7}  residues"]
    for p in pockets:
        centre = ",".join(f"{v:.1f}" for v in p["centre"])
        plddt = "-" if p["mean_plddt"] is None else f"{p['mean_plddt']:.1f}" + (" LOW" if p["low_confidence"] else "")
        residues = " ".join(p["residues"][:8]) + (f" (+{len(p['residues']) - 8})" if len(p["residues"]) > 8 else "")
        lines.append(f"{p['rank']:>4}  {p['score']:>6.3f}  {centre:<22}  {p['volume_A3']:>10.1f}  "
                     f"{p['enclosure']:>9.2f}  {p['hydropathy']:>10.2f}  {p['depth_mean_A']:>8.2f}  {plddt:>7}  {residues}")
    return "\n".join(lines)
