"""Score a model structure against a reference: the engine of ``remyfold compare``.

Steps: read both files (:mod:`remyfold.io.structure_reader`), pair chains and
align their sequences (:mod:`remyfold.metrics.alignment`), then compute on the
aligned residues

* TM-score, GDT-TS, GDT-HA and Cα RMSD (:mod:`remyfold.metrics.tmscore`),
  normalised by the reference length ``L`` (all residues of the paired
  reference chains);
* all-atom and Cα lDDT with per-residue values (:mod:`remyfold.metrics.lddt`),
  over all reference residues (unaligned ones score 0).

For complexes the paired chains are concatenated in reference order and scored
as one structure, like ``TMscore -c``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from remyfold.io.structure_reader import ChainRecord, read_chains
from remyfold.metrics.alignment import ChainAlignment, align_chains, pair_chains
from remyfold.metrics.lddt import lddt, symmetric_lddt
from remyfold.metrics.tmscore import tm_score_search

#: The keys of one comparison object (``remyfold compare --json``), in output order.
RESULT_KEYS = (
    "model", "reference", "tm_score", "gdt_ts", "gdt_ha", "rmsd", "lddt", "lddt_ca",
    "aligned_residues", "sequence_identity", "per_residue_lddt",
)  # fmt: skip


@dataclass(frozen=True)
class Correspondence:
    """Model coordinates laid out on the reference, over all paired chains.

    Shapes: ``L`` reference residues, ``K`` aligned residues, ``M`` reference heavy atoms.

    Attributes:
        reference_ca: ``[L, 3]`` reference Cα.
        model_ca: ``[L, 3]`` model Cα of each reference residue, ``NaN`` where unaligned.
        aligned: ``[K]`` int, indices (into ``L``) of the aligned reference residues.
        reference_atoms: ``[M, 3]`` reference heavy atoms.
        model_atoms: ``[M, 3]`` model atom of the same name in the aligned residue, ``NaN`` where none.
        atom_residue: ``[M]`` int, residue index (into ``L``) of each reference atom.
        atom_names: ``M`` atom names.
        residue_names: ``L`` reference residue names.
        residue_labels: ``L`` labels ``chain:number[icode]``.
    """

    reference_ca: np.ndarray
    model_ca: np.ndarray
    aligned: np.ndarray
    reference_atoms: np.ndarray
    model_atoms: np.ndarray
    atom_residue: np.ndarray
    atom_names: tuple[str, ...]
    residue_names: tuple[str, ...]
    residue_labels: tuple[str, ...]


def compare_structures(
    model_path: str | os.PathLike,
    reference_path: str | os.PathLike,
    *,
    model_index: int = 1,
    chains: str | Sequence[str] | None = None,
    chain_map: str | Mapping[str, str] | None = None,
    reference_model_index: int = 1,
) -> dict:
    """Compare a model file with a reference file; return the ``remyfold compare --json`` object.

    Args:
        model_path: PDB/mmCIF file (optionally gzipped) of the model.
        reference_path: PDB/mmCIF file of the reference.
        model_index: which model of a multi-model model file (1 = first).
        chains: reference chain ids to score (``"A,B"`` or a list); see
            :func:`remyfold.metrics.alignment.pair_chains`.
        chain_map: model -> reference chain ids (``"A:B,C:D"`` or a mapping).
        reference_model_index: which model of the reference file (1 = first).

    Returns:
        A dict with the keys of :data:`RESULT_KEYS` (scores as fractions 0–1,
        RMSD in Å, lDDT ``None`` when no atom pair is in range, per-residue
        lDDT as a list over the reference residues with ``None`` where undefined) plus ``model_index``, ``reference_length``,
        ``d0``, ``chain_pairs``, ``reference_residues`` (labels matching the
        per-residue lists) and ``per_residue_lddt_ca``.

    Raises:
        remyfold.errors.InputError: unreadable file, no protein chain, unknown
            chain, or chains that do not align.
    """
    model_chains = read_chains(model_path, model_index)
    reference_chains = read_chains(reference_path, reference_model_index)
    scores = compare_chains(model_chains, reference_chains, chains=chains, chain_map=chain_map)
    header = {"model": str(model_path), "reference": str(reference_path)}
    return {**header, **scores, "model_index": model_index}


def compare_chains(
    model_chains: list[ChainRecord],
    reference_chains: list[ChainRecord],
    *,
    chains: str | Sequence[str] | None = None,
    chain_map: str | Mapping[str, str] | None = None,
) -> dict:
    """Scores of already-read chains: the dict of :func:`compare_structures` without the file names."""
    alignments = [align_chains(m, r) for m, r in pair_chains(model_chains, reference_chains, chains, chain_map)]
    layout = build_correspondence(alignments)
    length = len(layout.reference_ca)
    tm = tm_score_search(layout.model_ca[layout.aligned], layout.reference_ca[layout.aligned], length)
    _, all_atom = symmetric_lddt(
        layout.reference_atoms,
        layout.model_atoms,
        layout.atom_residue,
        layout.atom_names,
        layout.residue_names,
    )
    ca_only = lddt(layout.reference_ca, layout.model_ca, np.arange(length), length)
    aligned = sum(a.aligned for a in alignments)
    return {
        "tm_score": tm.tm_score,
        "gdt_ts": tm.gdt_ts,
        "gdt_ha": tm.gdt_ha,
        "rmsd": tm.rmsd,
        "lddt": _json_value(all_atom.score),
        "lddt_ca": _json_value(ca_only.score),
        "aligned_residues": aligned,
        "sequence_identity": sum(a.identical for a in alignments) / aligned,
        "per_residue_lddt": _json_list(all_atom.per_residue),
        "reference_length": length,
        "d0": tm.d0,
        "chain_pairs": [
            {
                "model": a.model.chain_id,
                "reference": a.reference.chain_id,
                "aligned_residues": a.aligned,
                "pairing": a.method,
            }
            for a in alignments
        ],
        "reference_residues": list(layout.residue_labels),
        "per_residue_lddt_ca": _json_list(ca_only.per_residue),
    }


def build_correspondence(alignments: list[ChainAlignment]) -> Correspondence:
    """Lay the model's residues and atoms out on the concatenated reference chains."""
    reference_ca, model_ca, aligned = [], [], []
    reference_atoms, model_atoms, atom_residue, atom_names = [], [], [], []
    residue_names, labels = [], []
    offset = 0
    for alignment in alignments:
        reference, model = alignment.reference, alignment.model
        partner = np.full(reference.length, -1)
        partner[alignment.reference_residues] = alignment.model_residues
        chain_model_ca = np.full((reference.length, 3), np.nan)
        chain_model_ca[alignment.reference_residues] = model.ca_positions[alignment.model_residues]
        reference_ca.append(reference.ca_positions)
        model_ca.append(chain_model_ca)
        aligned.append(offset + alignment.reference_residues)
        reference_atoms.append(reference.atom_positions)
        model_atoms.append(_matching_atoms(model, reference, partner))
        atom_residue.append(offset + reference.atom_residue)
        atom_names.extend(reference.atom_names)
        residue_names.extend(reference.residue_names)
        labels.extend(reference.residue_labels())
        offset += reference.length
    return Correspondence(
        reference_ca=np.concatenate(reference_ca),
        model_ca=np.concatenate(model_ca),
        aligned=np.concatenate(aligned),
        reference_atoms=np.concatenate(reference_atoms),
        model_atoms=np.concatenate(model_atoms),
        atom_residue=np.concatenate(atom_residue),
        atom_names=tuple(atom_names),
        residue_names=tuple(residue_names),
        residue_labels=tuple(labels),
    )


def _matching_atoms(model: ChainRecord, reference: ChainRecord, partner: np.ndarray) -> np.ndarray:
    """``[M_ref, 3]``: for each reference atom, the model atom of the same name in the
    partner residue (``partner[i]`` = model residue of reference residue ``i``, -1 if none), else ``NaN``."""
    by_residue: list[dict[str, int]] = [{} for _ in range(model.length)]
    for atom, (name, residue) in enumerate(zip(model.atom_names, model.atom_residue.tolist())):
        by_residue[residue].setdefault(name, atom)
    result = np.full((len(reference.atom_names), 3), np.nan)
    for atom, (name, residue) in enumerate(zip(reference.atom_names, reference.atom_residue.tolist())):
        model_residue = partner[residue]
        if model_residue >= 0 and name in by_residue[model_residue]:
            result[atom] = model.atom_positions[by_residue[model_residue][name]]
    return result


def _json_value(value: float) -> float | None:
    """A score for JSON: ``None`` where it is undefined (``NaN``: no atom pair in range)."""
    return None if math.isnan(value) else value


def _json_list(values: np.ndarray) -> list[float | None]:
    """Per-residue values as a JSON-ready list: 4 decimals, ``None`` for ``NaN``."""
    return [None if math.isnan(v) else round(v, 4) for v in values.tolist()]
