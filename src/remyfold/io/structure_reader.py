"""Read protein chains from PDB or mmCIF files (plain or gzipped) with gemmi.

:func:`read_chains` returns one :class:`ChainRecord` per protein chain of one
model of the file. A record is a small value type of numpy arrays, independent
of :class:`remyfold.prediction.Prediction`, used by the structure metrics and by
round-trip tests of the writers.

Conventions:

* only polymer residues of peptide chains that have a Cα atom are kept (waters,
  ligands, nucleic acids and Cα-less fragments are dropped);
* hydrogens are removed (recognised by name too, for MD files without an element
  column) and, for atoms with alternative locations, the first
  conformer is kept;
* the one-letter code of a modified residue is that of its parent (MSE -> M),
  force-field names of protonation states map to their residue (HSD -> H), and
  anything else unknown is ``X``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from remyfold.errors import InputError
from remyfold.io.residues import ATOM37_NAMES

# Residue names written by MD force fields (CHARMM, AMBER) for protonation states.
FORCE_FIELD_NAMES = {
    "HSD": "H", "HSE": "H", "HSP": "H", "HID": "H", "HIE": "H", "HIP": "H",
    "CYX": "C", "CYM": "C", "ASH": "D", "GLH": "E", "LYN": "K",
}  # fmt: skip
STANDARD_LETTERS = frozenset("ACDEFGHIKLMNPQRSTVWY")


@dataclass(frozen=True)
class ChainRecord:
    """One protein chain of a structure file.

    Shapes use ``N`` residues and ``M`` heavy atoms of the chain.

    Attributes:
        chain_id: chain name as written in the file (``""`` when blank).
        sequence: one-letter sequence, length ``N``.
        residue_names: ``N`` three-letter residue names as in the file.
        residue_numbers: ``[N]`` int, author residue numbers.
        insertion_codes: ``N`` insertion codes (``""`` when none).
        atom_names: ``M`` atom names.
        atom_residue: ``[M]`` int, index of each atom's residue (0..N-1), non-decreasing.
        atom_positions: ``[M, 3]`` float64 coordinates in Å.
        atom_b_factors: ``[M]`` float64 B-factors (pLDDT in predicted files).
        ca_atom: ``[N]`` int, index into the atom arrays of each residue's Cα.
    """

    chain_id: str
    sequence: str
    residue_names: tuple[str, ...]
    residue_numbers: np.ndarray
    insertion_codes: tuple[str, ...]
    atom_names: tuple[str, ...]
    atom_residue: np.ndarray
    atom_positions: np.ndarray
    atom_b_factors: np.ndarray
    ca_atom: np.ndarray

    @property
    def length(self) -> int:
        """Number of residues ``N``."""
        return len(self.sequence)

    @property
    def ca_positions(self) -> np.ndarray:
        """``[N, 3]`` Cα coordinates."""
        return self.atom_positions[self.ca_atom]

    def residue_labels(self) -> list[str]:
        """``N`` labels ``chain:number[icode]``, e.g. ``A:27B``."""
        return [
            f"{self.chain_id}:{number}{icode}"
            for number, icode in zip(self.residue_numbers.tolist(), self.insertion_codes)
        ]

    def atom37(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions in the atom37 layout: ``([N, 37, 3] float64, [N, 37] bool mask)``.

        Atoms whose name is not an atom37 slot (e.g. of modified residues) are left out.
        """
        slot = {name: i for i, name in enumerate(ATOM37_NAMES)}
        positions = np.zeros((self.length, len(ATOM37_NAMES), 3))
        mask = np.zeros((self.length, len(ATOM37_NAMES)), dtype=bool)
        for atom, (name, residue) in enumerate(zip(self.atom_names, self.atom_residue.tolist())):
            if name in slot:
                positions[residue, slot[name]] = self.atom_positions[atom]
                mask[residue, slot[name]] = True
        return positions, mask


def one_letter(residue_name: str) -> str:
    """One-letter code of a residue name (parent residue for modified ones, else ``X``)."""
    import gemmi

    if residue_name in FORCE_FIELD_NAMES:
        return FORCE_FIELD_NAMES[residue_name]
    info = gemmi.find_tabulated_residue(residue_name)
    letter = info.one_letter_code.upper() if info is not None else "X"
    return letter if letter in STANDARD_LETTERS else "X"


def read_chains(path: str | os.PathLike, model_index: int = 1) -> list[ChainRecord]:
    """Read the protein chains of model ``model_index`` (1 = first) of a PDB/mmCIF file.

    Raises:
        InputError: the file is missing, is not a coordinate file, has fewer
            models than ``model_index``, or has no protein chain.
    """
    structure = _read_structure(Path(path))
    if model_index < 1 or model_index > len(structure):
        raise InputError(
            f"{path} has {len(structure)} model(s), so model {model_index} does not exist; "
            f"choose a model from 1 to {len(structure)}"
        )
    model = structure[model_index - 1]
    chains = [record for record in (_chain_record(chain) for chain in model) if record is not None]
    if not chains:
        raise InputError(
            f"{path} has no protein chain (no amino-acid residue with a CA atom); pass a protein structure"
        )
    return chains


def _read_structure(path: Path):
    """Parse ``path`` with gemmi (format detected from content) and tidy it for scoring."""
    import gemmi

    if not path.is_file():
        raise InputError(f"structure file {path} does not exist; check the path")
    try:
        structure = gemmi.read_structure(str(path), format=gemmi.CoorFormat.Detect)
    except (RuntimeError, ValueError, OSError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(
            f"{path} is not a readable PDB or mmCIF file ({reason}); pass a .pdb or .cif structure"
        ) from None
    if len(structure) == 0 or structure[0].count_atom_sites() == 0:
        raise InputError(f"{path} is not a structure: no atoms found in it; pass a PDB or mmCIF file")
    structure.setup_entities()
    structure.merge_chain_parts()
    structure.remove_alternative_conformations()
    return structure


def _is_hydrogen(atom) -> bool:
    """Whether a protein atom is H/D, by element or, where the element column is
    missing (MD files), by name: no protein heavy-atom name starts with H or D."""
    return atom.is_hydrogen() or atom.name.lstrip("0123456789")[:1] in ("H", "D")


def _chain_record(chain) -> ChainRecord | None:
    """A :class:`ChainRecord` of the peptide polymer of a gemmi chain, or ``None`` if it has none."""
    import gemmi

    polymer = chain.get_polymer()
    if polymer.check_polymer_type() not in (
        gemmi.PolymerType.PeptideL,
        gemmi.PolymerType.PeptideD,
    ):
        return None
    names, numbers, icodes = [], [], []
    atom_names, atom_residue, positions, b_factors, ca_atom = [], [], [], [], []
    for residue in polymer:
        atoms = [atom for atom in residue if not _is_hydrogen(atom)]
        ca = [i for i, atom in enumerate(atoms) if atom.name == "CA"]
        if not ca:
            continue
        ca_atom.append(len(atom_names) + ca[0])
        for atom in atoms:
            atom_names.append(atom.name)
            atom_residue.append(len(names))
            positions.append(atom.pos.tolist())
            b_factors.append(atom.b_iso)
        names.append(residue.name)
        numbers.append(residue.seqid.num)
        icodes.append(residue.seqid.icode.strip())
    if not names:
        return None
    return ChainRecord(
        chain_id=chain.name,
        sequence="".join(one_letter(name) for name in names),
        residue_names=tuple(names),
        residue_numbers=np.asarray(numbers, dtype=np.int64),
        insertion_codes=tuple(icodes),
        atom_names=tuple(atom_names),
        atom_residue=np.asarray(atom_residue, dtype=np.int64),
        atom_positions=np.asarray(positions, dtype=np.float64).reshape(-1, 3),
        atom_b_factors=np.asarray(b_factors, dtype=np.float64),
        ca_atom=np.asarray(ca_atom, dtype=np.int64),
    )
