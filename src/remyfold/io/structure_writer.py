"""Write a :class:`~remyfold.prediction.Prediction` as PDB text (via ``gemmi``) and mmCIF text.

For PDB, the prediction is turned into a ``gemmi.Structure`` (one model, chains ``A, B, ...``,
residue numbers from ``residue_number``, atom names from the atom37 order, element from
the atom name's first letter, occupancy 1, B-factor = the atom's pLDDT on the 0–100 scale;
chains with the same sequence share an entity, written as ``SEQRES``).

The mmCIF file is a complete ModelCIF file written by :mod:`remyfold.io.modelcif_writer`
with the ``modelcif`` package: full PDBx ``_atom_site`` records, entities, the software and
protocol, and the confidence scores (global pLDDT and pTM, local pLDDT, optionally PAE).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from remyfold.io.residues import ATOM37_ELEMENTS, ATOM37_NAMES, RESTYPE_NAMES, RESTYPES_WITH_X

if TYPE_CHECKING:  # gemmi is imported lazily so that the CLI starts fast.
    import gemmi

    from remyfold.prediction import Prediction


def prediction_to_structure(pred: Prediction) -> gemmi.Structure:
    """Build a ``gemmi.Structure`` from a prediction.

    Uses ``pred.positions`` ``[N, 37, 3]``, ``pred.atom_mask`` ``[N, 37]``, ``pred.plddt``
    ``[N, 37]``, ``pred.aatype`` ``[N]``, ``pred.chain_index`` ``[N]`` and
    ``pred.residue_number`` ``[N]``. Atoms whose mask is false are left out.
    """
    import gemmi

    structure = gemmi.Structure()
    structure.name = pred.id
    structure.spacegroup_hm = "P 1"
    structure.info["_struct.title"] = f"remyfold prediction of {pred.id}"
    model = gemmi.Model(1)
    for chain_index, chain_info in enumerate(pred.chains):
        rows = np.flatnonzero(pred.chain_index == chain_index)
        model.add_chain(_build_chain(gemmi, chain_info.id, rows, pred))
    structure.add_model(model)
    _add_entities(gemmi, structure, pred)
    structure.assign_label_seq_id()
    structure.assign_serial_numbers()
    return structure


def _build_chain(gemmi, chain_id: str, rows: np.ndarray, pred: Prediction):
    """Make one ``gemmi.Chain`` from the residues ``rows`` (indices into the ``[N, ...]`` arrays)."""
    chain = gemmi.Chain(chain_id)
    for row in rows:
        residue = gemmi.Residue()
        residue.name = RESTYPE_NAMES[int(pred.aatype[row])]
        residue.seqid = gemmi.SeqId(int(pred.residue_number[row]), " ")
        residue.entity_type = gemmi.EntityType.Polymer
        residue.het_flag = "A"
        residue.subchain = chain_id
        for slot in np.flatnonzero(pred.atom_mask[row]):
            atom = gemmi.Atom()
            atom.name = ATOM37_NAMES[slot]
            atom.element = gemmi.Element(ATOM37_ELEMENTS[slot])
            # Round to what the PDB format holds, so that PDB and mmCIF agree.
            x, y, z = (round(float(v), 3) for v in pred.positions[row, slot])
            atom.pos = gemmi.Position(x, y, z)
            atom.occ = 1.0
            atom.b_iso = round(float(pred.plddt[row, slot]), 2)
            residue.add_atom(atom)
        chain.add_residue(residue)
    return chain


def _add_entities(gemmi, structure, pred: Prediction) -> None:
    """One polymer entity per distinct chain sequence, numbered ``1, 2, ...`` in order of appearance."""
    entities: dict[str, gemmi.Entity] = {}
    entity_of_chain: dict[str, str] = {}
    for chain_info in pred.chains:
        entity = entities.get(chain_info.sequence)
        if entity is None:
            entity = gemmi.Entity(str(len(entities) + 1))
            entity.entity_type = gemmi.EntityType.Polymer
            entity.polymer_type = gemmi.PolymerType.PeptideL
            entity.full_sequence = [RESTYPE_NAMES[_restype_index(c)] for c in chain_info.sequence]
            entities[chain_info.sequence] = entity
        entity.subchains = list(entity.subchains) + [chain_info.id]
        entity_of_chain[chain_info.id] = entity.name
    for entity in entities.values():
        structure.entities.append(entity)
    for chain in structure[0]:
        for residue in chain:
            residue.entity_id = entity_of_chain[chain.name]


def _restype_index(letter: str) -> int:
    """Residue-type index of a one-letter code (unknown letters map to ``X``)."""
    index = RESTYPES_WITH_X.find(letter)
    return index if index >= 0 else len(RESTYPES_WITH_X) - 1


def to_pdb_string(pred: Prediction) -> str:
    """PDB text of a prediction (pLDDT in the B-factor column, 2 decimals)."""
    return prediction_to_structure(pred).make_pdb_string()


def to_mmcif_string(pred: Prediction, *, pae: bool = False) -> str:
    """mmCIF text of a prediction: a ModelCIF file (see :mod:`remyfold.io.modelcif_writer`).

    ``pae=True`` adds the pairwise PAE (N² rows; large for long sequences).
    """
    from remyfold.io.modelcif_writer import to_modelcif_string

    return to_modelcif_string(pred, pae=pae)
