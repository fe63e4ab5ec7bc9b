"""``remyfold fetch ID [ID ...] [--out DIR]``: PDB entries and AlphaFold DB models by id, cached.

A PDB id (``4K6I``) fetches the entry's mmCIF from RCSB, a UniProt accession (``P48443``) the
AlphaFold DB model (see :mod:`remyfold.fetch.structures`). Prints the cached file of each id, or,
with ``--out DIR``, copies each into DIR (written atomically) and prints the copies. Every id is
fetched before anything is copied, so a bad id leaves ``--out`` untouched.
"""

from __future__ import annotations

import argparse

HELP = "Download PDB entries (mmCIF, by PDB id) and AlphaFold DB models (by UniProt accession) into the cache."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``fetch`` options."""
    parser.add_argument("ids", nargs="+", metavar="ID", help="PDB ids (4K6I) or UniProt accessions (P48443)")
    parser.add_argument("--out", metavar="DIR",
                        help="copy the files into DIR (created) instead of printing cache paths")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Fetch every id, then print (or copy) the files."""
    from pathlib import Path

    from remyfold.errors import InputError
    from remyfold.fetch import fetch_structure
    from remyfold.io.atomic import write_bytes_atomic
    from remyfold.io.outputs import check_folder_output, prepare_folder_output, remove_created_dirs

    if args.out is not None:
        check_folder_output(args.out)  # before any download
    paths = list(dict.fromkeys(fetch_structure(ident) for ident in args.ids))  # 1a28 and 1A28: one file
    if args.out is None:
        for path in paths:
            print(path)
        return 0
    created = prepare_folder_output(args.out)
    written: list[Path] = []
    try:
        for path in paths:
            target = Path(args.out) / path.name
            write_bytes_atomic(target, path.read_bytes())
            written.append(target)
    except OSError as err:
        remove_created_dirs(created, *written)
        raise InputError(f"--out {args.out}: cannot write {path.name} ({err.strerror}); "
                         "choose another folder") from None  # fmt: skip
    except BaseException:
        remove_created_dirs(created, *written)
        raise
    for target in written:
        print(target)
    return 0
