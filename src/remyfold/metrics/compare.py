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
as one structure, like ``TMscore -c``. Reference chains that the model lacks
count as unaligned (``L`` includes them, as ``TMscore -c`` and CASP's multimer
assessment count them) unless ``chains``/``chain_map`` restrict the comparison;
the result's ``warnings`` name them.

A model with Cα atoms only (a coarse model) gets Cα lDDT as its ``lddt``
(``lddt_atoms`` = ``"CA"``): all-atom lDDT needs side chains.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from remyfold.io.structure_files import open_structure
from remyfold.io.structure_reader import ChainRecord, read_chains
from remyfold.metrics.alignment import ChainAlignment, align_chains, pair_chains
from remyfold.metrics.lddt import lddt, symmetric_lddt
from remyfold.metrics.tmscore import tm_score_search

#: The keys of one comparison object (``remyfold compare --json``), in output order.
RESULT_KEYS = (
    "model", "reference", "tm_score", "gdt_ts", "gdt_ha", "rmsd", "lddt", "lddt_ca",
    "aligned_residues", "sequence_identity", "per_residue_lddt", "pairing", "warnings",
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
    pairing: str = "auto",
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
        pairing: how residues are paired, ``"auto"``, ``"numbering"``, ``"sequence"`` or
            ``"structure"`` (see :func:`remyfold.metrics.alignment.align_chains`).

    Returns:
        A dict with the keys of :data:`RESULT_KEYS` (scores as fractions 0–1,
        RMSD in Å, lDDT ``None`` when no atom pair is in range, per-residue
        lDDT as a list over the reference residues with ``None`` where undefined) plus ``model_index``,
        ``reference_length``, ``d0``, ``chain_pairs`` (each with its ``pairing`` and ``pairing_reason``),
        ``missing_chains``, ``lddt_atoms``, ``reference_model_index``,
        ``reference_models``, ``reference_residues`` (labels matching the
        per-residue lists) and ``per_residue_lddt_ca``. ``pairing`` names the
        pairing methods used; ``warnings`` is a list of sentences.

    Raises:
        remyfold.errors.InputError: unreadable file, no protein chain, unknown
            chain, or chains that do not align.
    """
    model_chains = read_chains(model_path, model_index)
    reference_chains = read_chains(reference_path, reference_model_index)
    scores = compare_chains(model_chains, reference_chains, chains=chains, chain_map=chain_map, pairing=pairing)
    models = len(open_structure(Path(reference_path)))
    if models > 1:
        scores["warnings"].append(
            f"the reference has {models} models; model {reference_model_index} was used"
        )
    header = {"model": str(model_path), "reference": str(reference_path)}
    extra = {"model_index": model_index, "reference_model_index": reference_model_index, "reference_models": models}
    return {**header, **scores, **extra}


def compare_chains(
    model_chains: list[ChainRecord],
    reference_chains: list[ChainRecord],
    *,
    chains: str | Sequence[str] | None = None,
    chain_map: str | Mapping[str, str] | None = None,
    pairing: str = "auto",
) -> dict:
    """Scores of already-read chains: the dict of :func:`compare_structures` without the file names."""
    pairs = pair_chains(model_chains, reference_chains, chains, chain_map)
    alignments = [align_chains(m, r, pairing) for m, r in pairs]
    paired = {id(reference) for _, reference in pairs}
    # Without --chain/--chain-map every reference chain counts; those the model lacks stay unaligned.
    restricted = chains is not None or chain_map is not None
    missing = [] if restricted else [r for r in reference_chains if id(r) not in paired]
    layout = build_correspondence(alignments, missing)
    length = len(layout.reference_ca)
    tm = tm_score_search(layout.model_ca[layout.aligned], layout.reference_ca[layout.aligned], length)
    ca_only = lddt(layout.reference_ca, layout.model_ca, np.arange(length), length)
    coarse = all(set(m.atom_names) <= {"CA"} for m, _ in pairs)
    all_atom = ca_only if coarse else _all_atom_lddt(layout)
    aligned = sum(a.aligned for a in alignments)
    identical = sum(a.identical for a in alignments)
    return {
        "tm_score": tm.tm_score,
        "gdt_ts": tm.gdt_ts,
        "gdt_ha": tm.gdt_ha,
        "rmsd": tm.rmsd,
        "lddt": _json_value(all_atom.score),
        "lddt_ca": _json_value(ca_only.score),
        "aligned_residues": aligned,
        "sequence_identity": identical / aligned,
        "per_residue_lddt": _json_list(all_atom.per_residue),
        "pairing": sorted({a.method for a in alignments}),
        "warnings": _warnings(missing, coarse),
        "reference_length": length,
        "d0": tm.d0,
        "lddt_atoms": "CA" if coarse else "all",
        "missing_chains": [chain.chain_id for chain in missing],
        "chain_pairs": [
            {
                "model": a.model.chain_id,
                "reference": a.reference.chain_id,
                "aligned_residues": a.aligned,
                "pairing": a.method,
                "pairing_reason": a.reason,
            }
            for a in alignments
        ],
        "reference_residues": list(layout.residue_labels),
        "per_residue_lddt_ca": _json_list(ca_only.per_residue),
    }


def _all_atom_lddt(layout: Correspondence):
    """All-atom lDDT of a layout, symmetric side-chain atoms resolved."""
    _, result = symmetric_lddt(
        layout.reference_atoms, layout.model_atoms, layout.atom_residue, layout.atom_names, layout.residue_names
    )
    return result


def _warnings(missing: list[ChainRecord], coarse: bool) -> list[str]:
    """Sentences about what the scores cover."""
    warnings = []
    if missing:
        names = ", ".join(repr(chain.chain_id) for chain in missing)
        residues = sum(chain.length for chain in missing)
        warnings.append(
            f"the model has no chain for reference chain(s) {names} ({residues} residues): they count as "
            "unaligned; restrict the comparison with --chain or --chain-map"
        )
    if coarse:
        warnings.append("the model has Cα atoms only: all-atom lDDT needs side chains, so lDDT is Cα lDDT")
    return warnings


def build_correspondence(alignments: list[ChainAlignment], missing: Sequence[ChainRecord] = ()) -> Correspondence:
    """Lay the model's residues and atoms out on the concatenated reference chains.

    ``missing``: reference chains without a model chain; they are laid out unaligned.
    Chains are taken in the order ``alignments`` then ``missing``.
    """
    reference_ca, model_ca, aligned = [], [], []
    reference_atoms, model_atoms, atom_residue, atom_names = [], [], [], []
    residue_names, labels = [], []
    offset = 0
    entries = [(a.reference, a) for a in alignments] + [(reference, None) for reference in missing]
    for reference, alignment in entries:
        chain_model_ca = np.full((reference.length, 3), np.nan)
        if alignment is None:
            reference_residues = np.zeros(0, dtype=np.int64)
            model_atoms.append(np.full((len(reference.atom_names), 3), np.nan))
        else:
            reference_residues = alignment.reference_residues
            partner = np.full(reference.length, -1)
            partner[reference_residues] = alignment.model_residues
            chain_model_ca[reference_residues] = alignment.model.ca_positions[alignment.model_residues]
            model_atoms.append(_matching_atoms(alignment.model, reference, partner))
        reference_ca.append(reference.ca_positions)
        model_ca.append(chain_model_ca)
        aligned.append(offset + reference_residues)
        reference_atoms.append(reference.atom_positions)
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
