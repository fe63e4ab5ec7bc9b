"""The protein of a structure file as a clean :class:`gemmi.Structure`, for pockets, docking and reports.

:func:`read_protein` is the docking side of :mod:`remyfold.io.structure_reader`:
it opens the file the same way (:func:`remyfold.io.structure_files.open_structure`:
PDB or mmCIF, compressed or not, the pre-1996 PDB layout, files without element
columns) and keeps the same residues :func:`~remyfold.io.structure_reader.read_chains`
counts as protein (standard, modified, ``UNK`` and force-field names such as
HSD, with a Cα), but returns a gemmi structure, not arrays, so that the callers
write PDB through gemmi rather than by hand.

Conventions of the result (one model, the first):

* only amino-acid residues of polymer chains; waters, ions, ligands (amino-acid-like
  ones such as SAH included) and nucleic acids left out;
* hydrogens removed (by element or, for MD files, by name); the first conformer
  of atoms with alternative locations kept;
* every atom has an element (see :func:`remyfold.io.structure_files.open_structure`
  for files without element columns);
* chains that a PDB file cannot tell apart get one-letter ids: a blank chain id,
  or one chain id holding several segments (CHARMM/NAMD ``PROA``, ``PROB``), is
  given the next free letter per segment; :attr:`ProteinStructure.chain_labels`
  maps each new id back to the file's ``chain`` / ``segment`` label.

:func:`is_remyfold_model` recognises a remyfold prediction from its metadata in
either format: the PDB/mmCIF title written by :mod:`remyfold.io.structure_writer`
or the ``_software`` rows of a ModelCIF file written by
:mod:`remyfold.io.modelcif_writer`. Its B-factors are then pLDDT.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass, field
from pathlib import Path

from remyfold.errors import InputError
from remyfold.io.structure_files import open_structure
from remyfold.io.structure_reader import _amino_acid_flags, _hydrogen_name, _is_alternative

REMYFOLD_TITLE = "remyfold"


@dataclass(frozen=True)
class ProteinStructure:
    """The protein of one structure file (see the module docstring).

    Attributes:
        path: the file read.
        structure: a :class:`gemmi.Structure` with one model of protein residues only.
        remyfold_model: whether the file is a remyfold prediction (B-factors are pLDDT).
        chain_labels: new chain id -> the file's label, for chains that were renamed.
    """

    path: Path
    structure: object
    remyfold_model: bool
    chain_labels: dict = field(default_factory=dict)

    def pdb_text(self) -> str:
        """PDB text of the protein, written by gemmi (ATOM records, element columns, TER, END)."""
        import gemmi

        return self.structure.make_pdb_string(gemmi.PdbWriteOptions(minimal=True))


def read_protein(path: str | os.PathLike, chains: tuple[str, ...] = ()) -> ProteinStructure:
    """The protein of ``path``'s first model, restricted to ``chains`` (ids or segment labels; empty: all).

    Raises:
        InputError: unreadable file, no protein residue, or a chain in ``chains`` that is not there.
    """
    path = Path(path)
    structure = open_structure(path)
    if len(structure) == 0 or structure[0].count_atom_sites() == 0:
        raise InputError(f"{path} has no atoms; give a PDB or mmCIF file of a protein")
    remyfold_model = is_remyfold_model(structure)
    for index in reversed(range(1, len(structure))):
        del structure[index]
    structure.merge_chain_parts()
    _keep_protein(structure[0])
    labels = _name_chains(structure[0])
    if chains:
        _select_chains(path, structure[0], labels, chains)
    structure.remove_empty_chains()
    if not any(len(chain) for chain in structure[0]):
        where = f" (chains {','.join(chains)})" if chains else ""
        raise InputError(f"{path}{where} has no protein residues (amino acids with a CA atom); give a protein structure")
    structure.setup_entities()
    return ProteinStructure(path, structure, remyfold_model, labels)


def is_remyfold_model(structure) -> bool:
    """Whether a gemmi structure is a remyfold prediction, by its title or its ModelCIF software rows."""
    title = structure.info["_struct.title"] if "_struct.title" in structure.info else ""
    if title.lower().startswith(REMYFOLD_TITLE):
        return True
    software = structure.meta.software
    return any(item.name.lower() == REMYFOLD_TITLE for item in software)


def _keep_protein(model) -> None:
    """Remove non-protein residues, alternative residues, hydrogens, later conformers, CA-less residues."""
    for chain in model:
        flags = _amino_acid_flags(chain)
        for index in reversed(range(len(chain))):
            if not flags[index]:
                del chain[index]
        for index in reversed(range(1, len(chain))):
            if _is_alternative(chain[index - 1], chain[index]):
                del chain[index]
        for index in reversed(range(len(chain))):
            _keep_heavy_first_conformer(chain[index])
            if chain[index].find_atom("CA", "*") is None:
                del chain[index]


def _keep_heavy_first_conformer(residue) -> None:
    """Drop hydrogens and every atom after the first of its name (later alternative locations)."""
    seen = set()
    for index in range(len(residue)):
        atom = residue[index]
        first = atom.name not in seen
        seen.add(atom.name)
        if not first or atom.is_hydrogen() or _hydrogen_name(atom.name):
            atom.occ = -1.0  # marked for removal below (gemmi residues delete by index)
        else:
            atom.altloc = "\0"
    for index in reversed(range(len(residue))):
        if residue[index].occ < 0:
            del residue[index]


def _name_chains(model) -> dict:
    """Give blank or multi-segment chains one letter per segment; return new id -> original label."""
    import gemmi

    used = {chain.name for chain in model}
    free = (letter for letter in string.ascii_uppercase + string.ascii_lowercase + string.digits if letter not in used)
    labels, originals, parts = {}, [], []
    for index, chain in enumerate(model):
        segments = list(dict.fromkeys(residue.segment.strip() for residue in chain))
        if chain.name.strip() and len(segments) <= 1:
            continue
        for segment in segments:
            new_id = next(free, None)
            if new_id is None:
                raise InputError("too many chains and segments to give each a chain id for docking")
            part = gemmi.Chain(new_id)
            for residue in chain:
                if residue.segment.strip() == segment:
                    part.add_residue(residue)
            parts.append(part)
            labels[new_id] = "_".join(filter(None, (chain.name.strip(), segment))) or new_id
        originals.append(index)
    for index in reversed(originals):
        del model[index]
    for part in parts:
        model.add_chain(part)
    return labels


def _select_chains(path: Path, model, labels: dict, chains: tuple[str, ...]) -> None:
    """Keep the chains named in ``chains`` (their id or their original segment label)."""
    names = {chain.name: {chain.name, labels.get(chain.name, chain.name)} for chain in model}
    missing = [c for c in chains if not any(c in aliases for aliases in names.values())]
    if missing:
        present = ", ".join(n if labels.get(n, n) == n else f"{n} (segment {labels[n]})" for n in sorted(names))
        raise InputError(f"{path} has no protein chain {', '.join(map(repr, missing))}; "
                         f"its protein chains are {present or 'none'}")  # fmt: skip
    for index in reversed(range(len(model))):
        if not names[model[index].name] & set(chains):
            del model[index]
