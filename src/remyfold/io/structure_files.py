"""Open a coordinate file as a :class:`gemmi.Structure`: format by name, compression, old PDB layout.

* Formats: PDB (``.pdb``, ``.ent``) and mmCIF (``.cif``, ``.mmcif``, ``.mcif``),
  each optionally compressed with gzip (``.gz``), bzip2 (``.bz2``) or xz (``.xz``).
  A file of another name is read as mmCIF when its text starts with ``data_``,
  else as PDB. Known formats that are not read (``.gro``, ``.mmtf``, ``.bcif``,
  ``.pqr``, ``.pdbqt``, …) are refused with one line naming what is supported,
  instead of being mistaken for an empty PDB file.
* The pre-1996 PDB layout, whose columns 73–80 hold the entry's id code and a
  line serial number (still written by some tools), makes a strict reader fail
  on the "charge" columns 79–80. Such a file is read again with columns 73–80
  ignored, as the ``TMscore`` program does (only element and segment columns live
  there, and elements are then inferred from the atom names).
* A PDB file without element columns (CHARMM/NAMD layout: names start in
  column 13, so gemmi reads ``CA`` as calcium and ``HG1`` as mercury) gets the
  elements of its amino-acid atoms from their names: the first letter after any
  digits (``D`` for deuterium is hydrogen; ``SE`` of MSE is selenium). Atoms of
  other residues keep gemmi's inference.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path

from remyfold.errors import InputError, first_line

SUPPORTED = "PDB (.pdb, .ent) or mmCIF (.cif, .mmcif), optionally compressed (.gz, .bz2, .xz)"
COMPRESSIONS = {".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress}
PDB_SUFFIXES = frozenset({".pdb", ".ent"})
MMCIF_SUFFIXES = frozenset({".cif", ".mmcif", ".mcif"})
#: Coordinate formats that are recognised by name and refused.
UNSUPPORTED = {
    ".gro": "GROMACS .gro",
    ".mmtf": "MMTF",
    ".bcif": "BinaryCIF",
    ".pqr": "PQR",
    ".pdbqt": "PDBQT",
    ".xyz": "XYZ",
    ".mol2": "MOL2",
    ".sdf": "SDF",
    ".mol": "MOL",
    ".psf": "PSF topology",
    ".crd": "CHARMM CRD",
    ".json": "mmJSON",
}


def open_structure(path: Path):
    """Parse ``path`` into a :class:`gemmi.Structure` (not yet tidied).

    Raises:
        InputError: missing file, unsupported format, corrupt compression, or unparsable content.
    """
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a structure file; give a {SUPPORTED} file")
    if not path.is_file():
        raise InputError(f"structure file {path} does not exist; check the path")
    suffixes = [suffix.lower() for suffix in path.suffixes]
    compression = suffixes[-1] if suffixes and suffixes[-1] in COMPRESSIONS else None
    inner = suffixes[-2 if compression else -1] if len(suffixes) > (1 if compression else 0) else ""
    if inner in UNSUPPORTED:
        raise InputError(f"{path}: unsupported format ({UNSUPPORTED[inner]}); supported: {SUPPORTED}")
    text = _text(path, compression)
    if inner in MMCIF_SUFFIXES or (inner not in PDB_SUFFIXES and text.lstrip().startswith("data_")):
        structure = _parse_mmcif(path, text)
    else:
        structure = _parse_pdb(path, text)
        if not _has_element_columns(text):
            _infer_amino_acid_elements(structure)
    # Residues the file does not type (no TER, SEQRES or entities) get gemmi's polymer /
    # non-polymer / water typing, so an amino-acid-like ligand (SAH, a free glutamate) is not
    # read as part of a chain.
    structure.add_entity_types(False)
    return structure


def _text(path: Path, compression: str | None) -> str:
    """The file's text, decompressed."""
    try:
        data = path.read_bytes()
        if compression is not None:
            data = COMPRESSIONS[compression](data)
    except (OSError, EOFError, ValueError, lzma.LZMAError) as err:
        raise InputError(f"{path} is not a readable {compression} file ({err}); pass a {SUPPORTED} file") from None
    if b"\0" in data[:4096]:
        raise InputError(f"{path} is a binary file, not a structure; supported: {SUPPORTED}")
    return data.decode("utf-8", errors="replace")


def _parse_mmcif(path: Path, text: str):
    """An mmCIF text -> structure."""
    import gemmi

    try:
        block = gemmi.cif.read_string(text).sole_block()
        return gemmi.make_structure_from_block(block)
    except (RuntimeError, ValueError) as err:
        raise InputError(f"{path} is not a readable mmCIF file ({first_line(err)}); supported: {SUPPORTED}") from None


def _parse_pdb(path: Path, text: str):
    """A PDB text -> structure, retrying with columns 73–80 ignored (pre-1996 layout)."""
    import gemmi

    try:
        return gemmi.read_pdb_string(text)
    except (RuntimeError, ValueError) as err:
        first_error = err
    try:
        return gemmi.read_pdb_string(text, max_line_length=72)
    except (RuntimeError, ValueError):
        raise InputError(
            f"{path} is not a readable PDB file ({first_line(first_error)}); supported: {SUPPORTED}"
        ) from None


def _has_element_columns(text: str) -> bool:
    """Whether any ATOM/HETATM record has an element symbol in columns 77-78 (not the serial number of
    the pre-1996 layout)."""
    return any(
        line.startswith(("ATOM", "HETATM")) and line[76:78].strip().isalpha()
        for line in text.splitlines()
    )


def _infer_amino_acid_elements(structure) -> None:
    """Set the element of every amino-acid atom from its name (file without element columns)."""
    import gemmi

    from remyfold.io.parent_residues import one_letter

    for model in structure:
        for chain in model:
            for residue in chain:
                if one_letter(residue.name) is None:
                    continue
                for atom in residue:
                    atom.element = gemmi.Element(_element_of_name(residue.name, atom.name))


def _element_of_name(residue: str, atom: str) -> str:
    """The element of a protein atom name: C, N, O, S or H (``D`` too); Se for MSE's SE."""
    if residue == "MSE" and atom == "SE":
        return "Se"
    letter = atom.lstrip("0123456789")[:1].upper()
    return "H" if letter == "D" else (letter if letter in "CNOSH" else "X")

