"""Which residues are amino acids, and how modified ones compare as their parent.

Structure-comparison tools score a modified residue (MSE selenomethionine, SEP
phosphoserine, …) as its parent amino acid. :func:`parent_name` gives the
parent (from gemmi's table of chemical components, where a modified residue's
one-letter code is its parent's, in lower case), :data:`ATOM_RENAMES` maps the
few atoms whose name differs from the parent's (MSE's SE is MET's SD), and
:data:`PARENT_ATOMS` lists each standard residue's heavy atoms; atoms of a
modified residue outside its parent's list (the phosphate of SEP, …) are not
compared.

Force-field residue names of molecular-dynamics files (CHARMM HSD, AMBER HID,
CYX, …) are their standard residue.
"""

from __future__ import annotations

from functools import lru_cache

from remyfold.io.residues import ONE_TO_THREE

# Residue names written by MD force fields (CHARMM, AMBER) for protonation states.
FORCE_FIELD_NAMES = {
    "HSD": "H", "HSE": "H", "HSP": "H", "HID": "H", "HIE": "H", "HIP": "H",
    "CYX": "C", "CYM": "C", "ASH": "D", "GLH": "E", "LYN": "K",
}  # fmt: skip
STANDARD_LETTERS = frozenset("ACDEFGHIKLMNPQRSTVWY")

_BACKBONE = ("N", "CA", "C", "O", "OXT")
#: Heavy atoms of each standard residue (backbone, then side chain).
PARENT_ATOMS = {
    name: frozenset(_BACKBONE + tuple(side.split()))
    for name, side in {
        "ALA": "CB", "ARG": "CB CG CD NE CZ NH1 NH2", "ASN": "CB CG OD1 ND2", "ASP": "CB CG OD1 OD2",
        "CYS": "CB SG", "GLN": "CB CG CD OE1 NE2", "GLU": "CB CG CD OE1 OE2", "GLY": "",
        "HIS": "CB CG ND1 CD2 CE1 NE2", "ILE": "CB CG1 CG2 CD1", "LEU": "CB CG CD1 CD2",
        "LYS": "CB CG CD CE NZ", "MET": "CB CG SD CE", "PHE": "CB CG CD1 CD2 CE1 CE2 CZ",
        "PRO": "CB CG CD", "SER": "CB OG", "THR": "CB OG1 CG2",
        "TRP": "CB CG CD1 CD2 NE1 CE2 CE3 CZ2 CZ3 CH2", "TYR": "CB CG CD1 CD2 CE1 CE2 CZ OH",
        "VAL": "CB CG1 CG2",
    }.items()
}  # fmt: skip
#: Atom names of modified residues that differ from their parent's.
ATOM_RENAMES = {"MSE": {"SE": "SD"}}


@lru_cache(maxsize=None)
def one_letter(residue_name: str) -> str | None:
    """One-letter code of an amino-acid residue name (the parent's for modified ones, ``X``
    for unknown amino acids such as UNK), or ``None`` when the residue is not an amino acid."""
    import gemmi

    if residue_name in FORCE_FIELD_NAMES:
        return FORCE_FIELD_NAMES[residue_name]
    info = gemmi.find_tabulated_residue(residue_name)
    if info is None or not info.is_amino_acid():
        return None
    letter = info.one_letter_code.upper()
    return letter if letter in STANDARD_LETTERS else "X"


def parent_name(residue_name: str) -> str | None:
    """The standard residue a residue compares as (``MSE`` -> ``MET``), or ``None`` (not an amino acid,
    or ``X``)."""
    letter = one_letter(residue_name)
    return ONE_TO_THREE[letter] if letter is not None and letter != "X" else None
