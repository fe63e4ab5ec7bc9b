"""Residue and atom tables shared by the readers and writers of :mod:`remyfold.io`.

These are the conventions of AlphaFold2/ESMFold that :class:`remyfold.prediction.Prediction`
uses: the 20-letter residue-type order (index 20 is the unknown residue ``X``) and the
atom37 layout, where every residue owns 37 atom slots in a fixed order and a mask says
which of them exist.
"""

from __future__ import annotations

#: One-letter codes in residue-type index order; ``aatype == 20`` means unknown (``X``).
RESTYPES = "ARNDCQEGHILKMFPSTWYV"
UNKNOWN_RESTYPE = "X"
RESTYPES_WITH_X = RESTYPES + UNKNOWN_RESTYPE

#: Letters accepted in an input sequence (the 20 standard amino acids and ``X``).
SEQUENCE_LETTERS = frozenset(RESTYPES_WITH_X)

#: One-letter code -> PDB/CCD three-letter residue name.
ONE_TO_THREE = {
    "A": "ALA", "R": "ARG", "N": "ASN", "D": "ASP", "C": "CYS",
    "Q": "GLN", "E": "GLU", "G": "GLY", "H": "HIS", "I": "ILE",
    "L": "LEU", "K": "LYS", "M": "MET", "F": "PHE", "P": "PRO",
    "S": "SER", "T": "THR", "W": "TRP", "Y": "TYR", "V": "VAL",
    "X": "UNK",
}  # fmt: skip

#: Three-letter residue name of each residue-type index (``[21]``; index 20 is ``UNK``).
RESTYPE_NAMES = tuple(ONE_TO_THREE[letter] for letter in RESTYPES_WITH_X)

#: The atom37 slot order: slot ``i`` of ``positions[:, i]`` is the atom named ``ATOM37_NAMES[i]``.
ATOM37_NAMES = (
    "N", "CA", "C", "CB", "O", "CG", "CG1", "CG2", "OG", "OG1", "SG", "CD", "CD1", "CD2",
    "ND1", "ND2", "OD1", "OD2", "SD", "CE", "CE1", "CE2", "CE3", "NE", "NE1", "NE2", "OE1",
    "OE2", "CH2", "NH1", "NH2", "OH", "CZ", "CZ2", "CZ3", "NZ", "OXT",
)  # fmt: skip

#: Element symbol of each atom37 slot: protein heavy-atom names start with their element.
ATOM37_ELEMENTS = tuple(name[0] for name in ATOM37_NAMES)

#: Slot index of the Cα atom in the atom37 layout.
CA_INDEX = ATOM37_NAMES.index("CA")


def suggestion_for_letter(letter: str) -> str:
    """Say what to do about a letter that is not one of :data:`SEQUENCE_LETTERS`.

    The ambiguous and rare IUPAC codes get a specific replacement; anything else is
    asked to be removed or replaced by ``X``.
    """
    specific = {
        "B": "B (Asx) is ambiguous: use D or N, or X",
        "Z": "Z (Glx) is ambiguous: use E or Q, or X",
        "J": "J (Xle) is ambiguous: use I or L, or X",
        "U": "U (selenocysteine) is not modelled: use C",
        "O": "O (pyrrolysine) is not modelled: use K",
        "-": "remove alignment gaps ('-')",
        ".": "remove alignment gaps ('.')",
        "*": "'*' (stop) is only accepted once, at the end of a chain",
    }
    if letter in specific:
        return specific[letter]
    return "use one of the 20 standard one-letter codes, or X for an unknown residue"
