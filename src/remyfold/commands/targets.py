"""``remyfold targets [show ID | fasta [IDS...]]``: the remyelination target catalog.

``remyfold targets`` lists the targets; ``targets show RXRG`` prints one
entry (drugs with SMILES and InChIKey, structures, sources); ``targets fasta
[IDS...] [--out FILE]`` writes a FASTA ready for ``remyfold predict``
(every target when no id is given; sequences not shipped are fetched from
UniProt and cached).
"""

from __future__ import annotations

import argparse
import sys

HELP = "The remyelination target catalog: list, show an entry, or write target sequences as FASTA."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``targets`` options."""
    parser.usage = "%(prog)s [show ID | fasta [IDS ...] [--out FILE]] [--json]"
    parser.add_argument("action", nargs="?", choices=("list", "show", "fasta"), default="list",
                        help="list, show one target, or write FASTA (default: list)")
    parser.add_argument("ids", nargs="*", metavar="ID", help="target ids, genes or UniProt accessions")
    parser.add_argument("--out", metavar="FILE", help="fasta: write to FILE (atomically) instead of stdout")
    parser.add_argument("--json", action="store_true", help="list/show: print JSON")


def run(args: argparse.Namespace) -> int:
    """Dispatch the catalog action."""
    import dataclasses
    import json

    from remyfold.targets.catalog import TargetsError, load_catalog

    catalog = load_catalog()
    if args.action == "show":
        if len(args.ids) != 1:
            raise TargetsError("targets show takes exactly one target id, e.g. remyfold targets show RXRG")
        target = catalog.require_target(args.ids[0])
        drugs = [catalog.drug(name) for name in target.drugs]
        if args.json:
            print(json.dumps({"target": dataclasses.asdict(target),
                              "drugs": [dataclasses.asdict(d) for d in drugs]}, indent=1))
        else:
            print(show_text(target, drugs))
        return 0
    if args.action == "fasta":
        return _fasta(catalog, args)
    if args.ids:
        raise TargetsError("targets list takes no ids; use remyfold targets show ID")
    if args.json:
        print(json.dumps([dataclasses.asdict(t) for t in catalog.targets], indent=1))
    else:
        print(list_text(catalog))
    return 0


def _fasta(catalog, args) -> int:
    from remyfold.targets.catalog import TargetsError
    from remyfold.io.atomic import write_text_atomic
    from remyfold.io.outputs import check_file_output
    from remyfold.targets.sequences import targets_fasta

    if args.out:
        check_file_output(args.out, example="targets.fasta")
    targets = [catalog.require_target(key) for key in args.ids]
    for target in targets:
        if target.accession is None:
            raise TargetsError(f"{target.id} has no verified UniProt accession in the catalog (remyfold targets show "
                               f"{target.id} says why); give its FASTA to remyfold predict yourself")
    if not targets:
        targets = [t for t in catalog.targets if t.accession is not None]
        left_out = [t.id for t in catalog.targets if t.accession is None]
        if left_out:
            print(f"remyfold targets fasta: left out (no verified UniProt accession): {' '.join(left_out)}",
                  file=sys.stderr)
    text = targets_fasta(targets)
    if args.out:
        write_text_atomic(args.out, text)
        print(f"wrote {len(targets)} sequences to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def list_text(catalog) -> str:
    """One line per target: id, accession, drugs, structures, name."""
    rows = [("ID", "UniProt", "drugs", "PDB", "name")]
    for t in catalog.targets:
        rows.append((t.id, t.accession or "unverified", ",".join(t.drugs) or "-",
                     ",".join(s.pdb for s in t.structures) or "-", t.name))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in rows)


def show_text(target, drugs) -> str:
    """A readable entry: identity, role, drugs (SMILES, InChIKey, action), structures, sources."""
    lines = [f"{target.id}  {target.name}",
             f"  gene {target.gene} · UniProt {target.accession or 'not verified (see below)'}",
             f"  role: {target.role}"]
    for d in drugs:
        lines += [f"  drug {d.name}: {d.action}", f"    SMILES {d.smiles}", f"    InChIKey {d.inchikey}",
                  *(f"    source {s}" for s in d.sources), *_note_lines(d.notes, "    ")]
        if d.unverified:
            lines.append(f"    not verified: {d.unverified}")
    for s in target.structures:
        where = ", ".join(x for x in (f"chain {s.chain}" if s.chain else "",
                                      f"ligand {s.ligand}" if s.ligand else "") if x)
        lines.append(f"  structure {s.pdb}{' (' + where + ')' if where else ''}: {s.description}")
        lines.append(f"    source {s.source}" + (f" ({s.unverified})" if s.unverified else ""))
    lines += _note_lines(target.notes, "  ")
    lines += [f"  source {s}" for s in target.sources]
    if target.unverified:
        lines.append(f"  not included: {target.unverified}")
    return "\n".join(lines)


def _note_lines(notes, indent: str) -> list[str]:
    """``note TEXT (source URL[; not verified: WHY])`` lines."""
    return [f"{indent}note {n.text} (source {n.source}" + (f"; not verified: {n.unverified}" if n.unverified else "")
            + ")" for n in notes]
