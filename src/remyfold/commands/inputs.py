"""Input checks shared by ``pockets`` and ``dock``: a structure file and a chain selection, refused in one line.

:func:`check_structure` reads the file with :mod:`remyfold.io.structure_files` (the reader
``compare`` uses), so a folder, a binary file, an unsupported format or a corrupt archive is
named as such instead of surfacing later as "has no protein residues". :func:`parse_chains`
splits a ``--chain A,B`` selection; the reader refuses an unknown chain id (or segment label), never
ignores it. :func:`structure_path` lets a PDB id or UniProt accession stand for a file
(fetched and cached by :mod:`remyfold.fetch`) when no file of that name exists.
"""

from __future__ import annotations

from pathlib import Path

from remyfold.errors import InputError


def structure_path(value: str) -> str:
    """``value`` itself when it names an existing path or is no PDB id / UniProt accession, else the cached
    mmCIF fetched for that id (:class:`~remyfold.fetch.FetchError` when it cannot be fetched)."""
    from remyfold.fetch import fetch_structure, is_structure_id

    if Path(value).exists() or not is_structure_id(value):
        return value
    return str(fetch_structure(value))


def check_structure(path: str | Path):
    """The parsed :class:`gemmi.Structure` of ``path``; :class:`InputError` saying what the file is otherwise
    (missing, a folder, binary, an unsupported format, unparsable, no atoms)."""
    from remyfold.io.structure_files import SUPPORTED, open_structure

    structure = open_structure(Path(path))
    if not any(len(residue) for model in structure for chain in model for residue in chain):
        raise InputError(f"{path} holds no atoms; give a {SUPPORTED} file with coordinates")
    return structure


def parse_chains(value: str | None, path: str | Path) -> tuple[str, ...]:
    """``--chain A,B`` as a tuple of chain ids or segment labels (``("",)``: every chain). Whether the file
    has them is checked by the reader (:func:`remyfold.io.protein_structure.read_protein`), which knows
    segment labels too."""
    if not value:
        return ("",)
    wanted = tuple(dict.fromkeys(part.strip() for part in value.split(",")))
    if "" in wanted:
        raise InputError(f"--chain {value}: {path} has no protein chain ''; give chain ids separated by commas")
    return wanted
