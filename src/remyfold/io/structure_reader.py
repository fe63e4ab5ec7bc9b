"""Read protein chains from coordinate files with gemmi.

:func:`read_chains` returns one :class:`ChainRecord` per protein chain of one
model of the file (formats: :mod:`remyfold.io.structure_files`). A record is a
small value type of numpy arrays, independent of
:class:`remyfold.prediction.Prediction`, used by the structure metrics and by
round-trip tests of the writers.

Conventions:

* a protein residue is any amino-acid residue (standard, modified, unknown
  ``UNK`` or a force-field name such as HSD) with a Cα atom, wherever it sits in
  its chain: waters, ions and ligands that share a chain id with the protein (as
  in molecular-dynamics frames) are left out, never the protein;
* chains are told apart by chain id and, where one chain id holds several
  segments (CHARMM/NAMD files: PROA, PROB with blank chain ids), by segment id:
  the record is then named after the segment (``PROA``), or ``A_PROA`` when the
  chain id is not blank. Two records with one name are an error, so that no
  residue is silently merged or lost;
* hydrogens are removed (recognised by name too, for MD files without an element
  column) and, for atoms with alternative locations, the first conformer is kept;
* a modified residue compares as its parent (:mod:`remyfold.io.parent_residues`):
  its one-letter code is the parent's (MSE -> M), atoms named differently take the
  parent's name (MSE SE -> SD), and atoms the parent lacks are left out;
  force-field names map to their residue (HSD -> H); other unknowns are ``X``
  (a residue no table knows counts as an amino acid when it has N, CA and C);
* in a chain with a polymer part, a HETATM group typed non-polymer (by the
  file's entities, or by gemmi's typing of groups after the chain) and with no
  peptide bond to a neighbour is a ligand, even when it looks like an amino
  acid: S-adenosylhomocysteine (SAH), a bound glutamate.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from remyfold.errors import InputError
from remyfold.io.parent_residues import ATOM_RENAMES, FORCE_FIELD_NAMES, PARENT_ATOMS, one_letter, parent_name
from remyfold.io.residues import ATOM37_NAMES
from remyfold.io.structure_files import SUPPORTED, open_structure

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
        label_seq: ``[N]`` int, position in the full (SEQRES / entity) sequence, 1-based, ``-1`` where unknown.
        full_sequence: one-letter full sequence of the chain's entity (``""`` when the file has none).
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
    label_seq: np.ndarray
    full_sequence: str

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


def read_chains(path: str | os.PathLike, model_index: int = 1) -> list[ChainRecord]:
    """Read the protein chains of model ``model_index`` (1 = first) of a structure file.

    Raises:
        InputError: the file is missing, unsupported or unreadable, has fewer
            models than ``model_index``, has no protein chain, or has two chains
            that cannot be told apart.
    """
    structure = _read_structure(Path(path))
    if model_index < 1 or model_index > len(structure):
        raise InputError(
            f"{path} has {len(structure)} model(s), so model {model_index} does not exist; "
            f"choose a model from 1 to {len(structure)}"
        )
    model = structure[model_index - 1]
    sequences = _entity_sequences(structure)
    chains = []
    for chain in model:
        chains.extend(_chain_records(sequences, chain))
    if not chains:
        raise InputError(
            f"{path} has no protein chain (no amino-acid residue with a CA atom); pass a protein structure"
        )
    names = [chain.chain_id for chain in chains]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(
            f"{path} has several protein chains named {', '.join(map(repr, repeated))} (same chain and segment "
            "ids); give each chain its own chain id"
        )
    return chains


def _read_structure(path: Path):
    """Parse ``path`` (:func:`open_structure`) and tidy it for scoring."""
    structure = open_structure(path)
    if len(structure) == 0 or structure[0].count_atom_sites() == 0:
        raise InputError(f"{path} is not a structure file: no atoms found in it; supported: {SUPPORTED}")
    if len(structure.entities):
        # Entities (SEQRES / entity_poly) give the full sequences and label_seq ids. Without any
        # (MD frames) gemmi would make one per water subchain, slowly, for nothing.
        structure.setup_entities()
    structure.merge_chain_parts()
    # Alternative locations are resolved per atom (_residue_atoms), not with gemmi's
    # remove_alternative_conformations(), which takes a second segment's residue 1 for an
    # alternative of the first segment's residue 1 and drops it.
    return structure


@lru_cache(maxsize=None)
def _hydrogen_name(name: str) -> bool:
    """Whether an atom name is a hydrogen's, for MD files without an element column: no protein
    heavy-atom name starts with H or D (after digits, as in 1HB)."""
    return name.lstrip("0123456789")[:1] in ("H", "D")


def _chain_records(sequences: dict[str, str], chain) -> list[ChainRecord]:
    """The protein records of a gemmi chain: one, or one per segment when it holds several."""
    residues = [residue for residue, keep in zip(chain, _amino_acid_flags(chain)) if keep]
    residues = [r for i, r in enumerate(residues) if not (i and _is_alternative(residues[i - 1], r))]
    segments = list(dict.fromkeys(residue.segment.strip() for residue in residues))
    if len(segments) <= 1:
        groups = [(chain.name, residues)]
    else:
        groups = [
            (f"{chain.name}_{segment}" if chain.name.strip() else segment,
             [r for r in residues if r.segment.strip() == segment])
            for segment in segments
        ]  # fmt: skip
    records = [_chain_record(sequences, name, group) for name, group in groups]
    return [record for record in records if record is not None]


def _is_alternative(previous, residue) -> bool:
    """Whether ``residue`` is an alternative of ``previous`` (microheterogeneity: the same number
    and segment, every atom with an alternative location)."""
    return (
        residue.seqid == previous.seqid
        and residue.segment == previous.segment
        and all(atom.altloc not in ("\0", " ") for atom in residue)
    )


def _amino_acid_flags(chain) -> list[bool]:
    """For each residue of a gemmi ``chain``: whether it is an amino acid of the chain.

    An amino acid (:func:`_is_amino_acid`) is a ligand instead when it is a HETATM group that
    the file (or gemmi's typing) calls a non-polymer or water, in a chain with a polymer part,
    and has no peptide bond to the residue before or after it: SAH, whose homocysteine has N,
    CA and C, or a glutamate bound as a ligand. ATOM records, modified residues bonded in the
    chain (HETATM MSE) and chains with no polymer part are read as before.
    """
    import gemmi

    typed = any(residue.entity_type == gemmi.EntityType.Polymer for residue in chain)
    ligand_types = (gemmi.EntityType.NonPolymer, gemmi.EntityType.Water)
    return [_is_amino_acid(residue) and not (typed and residue.het_flag == "H" and residue.entity_type in ligand_types
                                              and not _peptide_bonded(chain, index))
            for index, residue in enumerate(chain)]  # fmt: skip


PEPTIDE_BOND_MAX = 2.0  # Å, C(i-1)-N(i): 1.33 Å in a peptide, with room for poor models


def _peptide_bonded(chain, index: int) -> bool:
    """Whether residue ``index`` of ``chain`` has a peptide bond (C-N within 2 Å) to a neighbour."""

    def close(first, second) -> bool:
        c, n = first.find_atom("C", "*"), second.find_atom("N", "*")
        return c is not None and n is not None and c.pos.dist(n.pos) <= PEPTIDE_BOND_MAX

    return (index > 0 and close(chain[index - 1], chain[index])) or (
        index + 1 < len(chain) and close(chain[index], chain[index + 1]))


def _is_amino_acid(residue) -> bool:
    """An amino acid by name (gemmi's table, force-field names) or, for names no table knows
    (ZAE, 28J, ...), by its backbone atoms N, CA and C."""
    if one_letter(residue.name) is not None:
        return True
    return all(residue.find_atom(name, "*") is not None for name in ("N", "CA", "C"))


def _residue_atoms(residue) -> list[tuple[str, object]]:
    """``(name, atom)`` of a residue's heavy atoms, with modified residues in their parent's names."""
    atoms, seen = [], set()
    for atom in residue:
        name = atom.name
        # The first conformer of an atom with alternative locations; no hydrogens.
        if name in seen:
            continue
        seen.add(name)
        if not (_hydrogen_name(name) or atom.is_hydrogen()):
            atoms.append((name, atom))
    parent = parent_name(residue.name)
    if parent is None or parent == residue.name or residue.name in FORCE_FIELD_NAMES:
        return atoms
    renames = ATOM_RENAMES.get(residue.name, {})
    renamed = [(renames.get(name, name), atom) for name, atom in atoms]
    return [(name, atom) for name, atom in renamed if name in PARENT_ATOMS[parent]]


def _chain_record(sequences: dict[str, str], name: str, residues: list) -> ChainRecord | None:
    """A :class:`ChainRecord` of the amino-acid residues with a Cα, or ``None`` if there are none."""
    names, numbers, icodes, label_seq = [], [], [], []
    atom_names, atom_residue, positions, b_factors, ca_atom = [], [], [], [], []
    for residue in residues:
        atoms = _residue_atoms(residue)
        ca = [i for i, (atom_name, _) in enumerate(atoms) if atom_name == "CA"]
        if not ca:
            continue
        ca_atom.append(len(atom_names) + ca[0])
        for atom_name, atom in atoms:
            atom_names.append(atom_name)
            atom_residue.append(len(names))
            position = atom.pos
            positions.extend((position.x, position.y, position.z))
            b_factors.append(atom.b_iso)
        if residue.seqid.num is None:
            raise InputError(
                f"chain {name!r}: residue {residue.name} has no residue number (an mmCIF atom with neither "
                "auth_seq_id nor label_seq_id); give every atom a residue number"
            )
        names.append(residue.name)
        numbers.append(residue.seqid.num)
        icodes.append(residue.seqid.icode.strip())
        label_seq.append(residue.label_seq if residue.label_seq is not None else -1)
    if not names:
        return None
    return ChainRecord(
        chain_id=name,
        sequence="".join(one_letter(residue_name) or "X" for residue_name in names),
        residue_names=tuple(names),
        residue_numbers=np.asarray(numbers, dtype=np.int64),
        insertion_codes=tuple(icodes),
        atom_names=tuple(atom_names),
        atom_residue=np.asarray(atom_residue, dtype=np.int64),
        atom_positions=np.asarray(positions, dtype=np.float64).reshape(-1, 3),
        atom_b_factors=np.asarray(b_factors, dtype=np.float64),
        ca_atom=np.asarray(ca_atom, dtype=np.int64),
        label_seq=np.asarray(label_seq, dtype=np.int64),
        full_sequence=_full_sequence(sequences, residues),
    )


def _entity_sequences(structure) -> dict[str, str]:
    """Subchain id -> one-letter full sequence of its polymer entity (SEQRES / entity_poly_seq)."""
    sequences = {}
    for entity in structure.entities:
        if not entity.full_sequence:
            continue
        letters = "".join(one_letter(item.split(",")[0]) or "X" for item in entity.full_sequence)
        sequences.update({subchain: letters for subchain in entity.subchains})
    return sequences


def _full_sequence(sequences: dict[str, str], residues: list) -> str:
    """The full sequence of the residues' one subchain (``""`` when unknown or when they span several)."""
    subchains = {residue.subchain for residue in residues}
    return sequences.get(next(iter(subchains)), "") if len(subchains) == 1 else ""
