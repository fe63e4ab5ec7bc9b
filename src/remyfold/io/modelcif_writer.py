"""Write a :class:`~remyfold.prediction.Prediction` as a ModelCIF file, via the ``modelcif`` package.

ModelCIF is the PDBx/mmCIF extension for computed models (the format of ModelArchive and
the AlphaFold Database). The file is built as a ``modelcif.System`` (the ModelCIF authors'
own library, on top of ``python-ihm``) and holds:

- the target: one entity per distinct chain sequence (``_entity``, ``_entity_poly``,
  ``_entity_poly_seq``), one asym unit per chain ``A, B, ...`` (``_struct_asym``,
  ``_pdbx_poly_seq_scheme``, ``_ma_target_entity*``);
- the method: software remyfold (with its run parameters) and ESMFold
  (``_software``, ``_ma_software_group``, ``_ma_software_parameter``), one modelling step
  from the target sequences to the model (``_ma_protocol_step``, ``_ma_data*``);
- the model: ``_ma_model_list`` (an ab initio model) and ``_atom_site`` with the complete
  PDBx author and label fields; the B-factor of each atom is its pLDDT (0–100);
- the confidence: global pLDDT (the mean of the per-residue Cα pLDDT, the AlphaFold DB /
  ModelCIF convention: the mean of the local values), global pTM, local per-residue pLDDT
  and, on request, local pairwise PAE (``_ma_qa_metric*``, the PAE rows written by
  :mod:`remyfold.io.modelcif_pae`);
- for complexes (two chains or more): global ipTM, actifpTM and ranking confidence
  (``_ma_qa_metric_global``), each chain's pTM (``_ma_qa_metric_feature``) and, per chain
  pair, the ipTM and the minimum PAE (``_ma_qa_metric_feature_pairwise``; the chains are
  ``entity instance`` features in ``_ma_feature_list``/``_ma_entity_instance_feature``). These
  per-feature categories are ModelCIF's place for chain-level scores (its documentation, "How to
  use the ModelCIF dictionary", writes AlphaFold 3's ``chain_pair_iptm``/``chain_pair_pae_min``
  so); ModelCIF 1.4.2 and older have no such category.

Residues that have no atoms (``X``, written ``UNK``) stay in the entity sequence, are
marked "not modelled" in ``_pdbx_poly_seq_scheme`` and have no ``_atom_site`` rows, hence
no local metrics either (ModelCIF's local metrics point at ``_atom_site``); the global
pLDDT still averages every residue, as ``Prediction.mean_plddt`` does, so only then does it
differ from the mean of the local values. A chain of only ``X`` is a target with no
coordinates (not in the modelled assembly).

``python-ihm`` writes ``_atom_site`` without ``auth_atom_id``; the file is passed once
through ``gemmi`` to add it (the atom names are the same in both numbering schemes).
"""

from __future__ import annotations

import io
import itertools
import re
from typing import TYPE_CHECKING

import numpy as np

from remyfold._version import __version__
from remyfold.io.modelcif_pae import add_pae_metric, label_seq_ids, pae_loop_text
from remyfold.io.residues import ATOM37_ELEMENTS, ATOM37_NAMES, RESTYPES_WITH_X

if TYPE_CHECKING:  # modelcif/ihm/gemmi are imported lazily so that the CLI starts fast.
    import modelcif

    from remyfold.prediction import Prediction

#: DOI and PubMed id of the ESMFold paper (Lin et al., Science 2023).
ESMFOLD_DOI = "10.1126/science.ade2574"
ESMFOLD_PMID = 36927031


def to_modelcif_string(pred: Prediction, *, pae: bool = False) -> str:
    """ModelCIF text of a prediction.

    Args:
        pred: the prediction.
        pae: also write the ``[N, N]`` predicted aligned error as ``_ma_qa_metric_local_pairwise``,
            one row per ordered pair of residues with atoms: about 38 bytes × N², so 38 MB and a
            few seconds for 1,000 residues (``bench/io/mmcif_write.py``). Off by default; the
            pipeline's ``<id>.json`` holds the PAE too.
    """
    import gemmi
    import modelcif.dumper

    out = io.StringIO()
    modelcif.dumper.write(out, [build_system(pred)])
    document = gemmi.cif.read_string(out.getvalue())
    block = document.sole_block()
    _add_auth_atom_id(block)
    if not pae:
        return document.as_string(gemmi.cif.Style.Pdbx)
    # The N² pairs are written straight from the array (build_system(pae=True) is the
    # reference: equal text, but one Python object per pair).
    metric_id = add_pae_metric(block, _metric_types(None)["PAE"](None, None, 0.0))
    model_id = int(block.find_value("_ma_model_list.ordinal_id"))
    return document.as_string(gemmi.cif.Style.Pdbx) + pae_loop_text(pred, metric_id=metric_id, model_id=model_id)


def build_system(pred: Prediction, *, pae: bool = False) -> modelcif.System:
    """The ``modelcif.System`` of a prediction: target entities, software, protocol, model, QA metrics.

    ``pae=True`` adds one ``modelcif`` pairwise PAE metric per residue pair (slow and memory
    hungry past a few hundred residues; the reference for :mod:`remyfold.io.modelcif_pae`).
    """
    import modelcif
    import modelcif.model
    import modelcif.protocol

    system = modelcif.System(
        title=f"remyfold (ESMFold) prediction of {pred.id}",
        id=_entry_id(pred.id),
        model_details=f"Structure of {pred.id} predicted from its sequence by remyfold, an ESMFold implementation.",
    )
    asyms = _target_asym_units(pred)
    # Chains without any atom (only X) are targets but cannot be part of the modelled assembly.
    modelled = [asym for asym, has_atoms in zip(asyms, _chains_with_atoms(pred)) if has_atoms]
    system.asym_units.extend(asyms)
    software = _software_group(pred)
    model = modelcif.model.AbInitioModel(assembly=modelcif.Assembly(modelled, name="Model"), name=f"{pred.id} model")
    for atom in _atoms(pred, asyms):
        model.add_atom(atom)
    model.not_modeled_residue_ranges.extend(_residues_without_atoms(pred, asyms))
    model.qa_metrics.extend(_qa_metrics(pred, asyms, software=software, pae=pae))
    system.model_groups.append(modelcif.model.ModelGroup([model], name="remyfold predictions"))

    target = modelcif.data.DataGroup(list(dict.fromkeys(asym.entity for asym in asyms)))
    protocol = modelcif.protocol.Protocol()
    protocol.steps.append(modelcif.protocol.ModelingStep(
        input_data=target, output_data=model, software=software,
        name="ESMFold structure prediction",
        details=f"{pred.num_recycles} recycling iterations, {pred.precision} arithmetic.",
    ))  # fmt: skip
    system.protocols.append(protocol)
    return system


def _chains_with_atoms(pred: Prediction) -> list[bool]:
    """For each chain, whether any of its residues has an atom."""
    has_atoms = pred.atom_mask.any(axis=1)
    return [bool(has_atoms[pred.chain_index == k].any()) for k in range(len(pred.chains))]


def _entry_id(record_id: str) -> str:
    """``_entry.id`` (and data-block name) of a record: letters, digits, ``_`` and ``-`` kept, others ``_``.

    CIF values may not start with ``#``, ``$``, quotes or ``;`` unquoted, and block names may
    not hold whitespace; python-ihm does not quote all of these, so they are replaced.
    """
    return re.sub(r"[^A-Za-z0-9_-]", "_", record_id) or "model"


def _target_asym_units(pred: Prediction) -> list:
    """One ``modelcif.AsymUnit`` per chain; chains with the same residue sequence share one entity.

    The entity sequence comes from ``pred.aatype`` (the residues written to ``_atom_site``),
    ``X`` as ``UNK``; ``label_seq_id`` counts from 1 in each chain and ``auth_seq_id`` is
    ``pred.residue_number``.
    """
    import ihm
    import modelcif

    alphabet = ihm.LPeptideAlphabet()
    entities: dict[str, modelcif.Entity] = {}
    chains_of: dict[str, list[str]] = {}
    asyms = []
    for chain_index, chain in enumerate(pred.chains):
        rows = np.flatnonzero(pred.chain_index == chain_index)
        letters = "".join(RESTYPES_WITH_X[int(a)] for a in pred.aatype[rows])
        if letters not in entities:
            entities[letters] = modelcif.Entity([alphabet["UNK" if c == "X" else c] for c in letters])
            # python-ihm takes a one-residue entity for a ligand; a one-residue chain is still a peptide.
            entities[letters]._force_polymer = True
            chains_of[letters] = []
        chains_of[letters].append(chain.id)
        numbers = {label: int(pred.residue_number[row]) for label, row in enumerate(rows, start=1)}
        asyms.append(
            modelcif.AsymUnit(entities[letters], details=f"chain {chain.id}", id=chain.id, auth_seq_id_map=numbers)
        )
    for letters, entity in entities.items():
        ids = chains_of[letters]
        entity.description = f"{pred.id} chain{'s' if len(ids) > 1 else ''} {', '.join(ids)}"
    return asyms


def _software_group(pred: Prediction) -> modelcif.SoftwareGroup:
    """remyfold (with the run's parameters) and ESMFold, the method it implements."""
    import ihm
    import modelcif

    remyfold = modelcif.Software(
        name="remyfold", classification="model building", type="package", version=__version__,
        description="PyTorch implementation of ESMFold", location=None,
    )  # fmt: skip
    esmfold = modelcif.Software(
        name="ESMFold", classification="model building", type="package", version=None,
        description="Structure prediction from a single sequence with the ESM-2 protein language model",
        location="https://github.com/facebookresearch/esm",
        citation=ihm.Citation(
            pmid=ESMFOLD_PMID, doi=ESMFOLD_DOI, year=2023, journal="Science", volume=379, page_range=(1123, 1130),
            title="Evolutionary-scale prediction of atomic-level protein structure with a language model",
            authors=["Lin Z", "Akin H", "Rao R", "Hie B", "Zhu Z", "Lu W", "Smetanin N", "Verkuil R", "Kabeli O",
                     "Shmueli Y", "dos Santos Costa A", "Fazel-Zarandi M", "Sercu T", "Candido S", "Rives A"],
        ),
    )  # fmt: skip
    parameters = [
        modelcif.SoftwareParameter("weights", pred.model_name or "unknown", "name of the model weights"),
        modelcif.SoftwareParameter("num_recycles", int(pred.num_recycles), "recycling iterations"),
        modelcif.SoftwareParameter("precision", pred.precision, "numeric precision of the run"),
    ]
    if pred.weights_revision:
        parameters.append(modelcif.SoftwareParameter("weights_revision", pred.weights_revision, "weights revision"))
    return modelcif.SoftwareGroup([modelcif.SoftwareWithParameters(remyfold, parameters), esmfold])


#: The ``modelcif`` QA metric classes written: key → (mode, type, name, description).
_METRICS = {
    "GlobalPLDDT": ("Global", "PLDDT", "pLDDT", "Predicted lDDT-Ca, mean of the per-residue values"),
    "PTM": ("Global", "PTM", "pTM", "Predicted TM-score"),
    "LocalPLDDT": ("Local", "PLDDT", "pLDDT", "Predicted lDDT-Ca of the residue"),
    "PAE": ("LocalPairwise", "PAE", "PAE",
            "Predicted aligned error (Angstrom) of residue 2 when the model is aligned on residue 1"),
    # complexes (two chains or more)
    "IPTM": ("Global", "IpTM", "ipTM", "Interface pTM over residue pairs on different chains (AlphaFold-Multimer)"),
    "ActifPTM": ("Global", "IpTM", "actifpTM",
                 "ipTM weighted by the predicted contact probability of each residue pair (actifpTM)"),
    "RankingConfidence": ("Global", "NormalizedScore", "ranking confidence",
                          "0.8 ipTM + 0.2 pTM (AlphaFold-Multimer model ranking confidence)"),
    "ChainPTM": ("Feature", "PTM", "pTM per chain", "pTM of the chain alone"),
    "ChainPairIPTM": ("FeaturePairwise", "IpTM", "ipTM per chain pair",
                      "ipTM restricted to the residues of the two chains"),
    "ChainPairPAEMin": ("FeaturePairwise", "PAE", "min. PAE per chain pair",
                        "Lowest PAE (Angstrom) aligned on a residue of chain 1, for a residue of chain 2"),
}  # fmt: skip


def _metric_types(software) -> dict[str, type]:
    """The ``modelcif`` QA metric classes of :data:`_METRICS`, by key, computed by ``software``
    (``modelcif`` takes a metric's description from its class docstring)."""
    import modelcif.qa_metric as qa

    return {
        key: type(key, (getattr(qa, mode), getattr(qa, kind)), {"name": name, "__doc__": doc, "software": software})
        for key, (mode, kind, name, doc) in _METRICS.items()
    }


def _complex_metrics(pred: Prediction, asyms: list, types: dict[str, type]) -> list:
    """Global ipTM, actifpTM, ranking confidence; per-chain pTM; per chain pair ipTM (each unordered pair
    once) and minimum PAE (each ordered pair); nothing for a single chain."""
    import modelcif

    if pred.iptm is None or pred.chain_pair_iptm is None or pred.chain_pair_pae_min is None:
        return []
    metrics = [types["IPTM"](round(float(pred.iptm), 3))]
    if pred.actifptm is not None:
        metrics.append(types["ActifPTM"](round(float(pred.actifptm), 3)))
    if pred.ranking_confidence is not None:
        metrics.append(types["RankingConfidence"](round(float(pred.ranking_confidence), 3)))
    chains = [modelcif.EntityInstanceFeature([asym], details=f"chain {asym.id}") for asym in asyms]
    pair_iptm = np.asarray(pred.chain_pair_iptm, dtype=np.float64)
    pae_min = np.asarray(pred.chain_pair_pae_min, dtype=np.float64)
    metrics += [types["ChainPTM"](chain, round(float(pair_iptm[a, a]), 3)) for a, chain in enumerate(chains)]
    for a, b in itertools.permutations(range(len(chains)), 2):
        if a < b:
            metrics.append(types["ChainPairIPTM"](chains[a], chains[b], round(float(pair_iptm[a, b]), 3)))
        metrics.append(types["ChainPairPAEMin"](chains[a], chains[b], round(float(pae_min[a, b]), 2)))
    return metrics


def _qa_metrics(pred: Prediction, asyms: list, *, software, pae: bool) -> list:
    """The ``modelcif`` QA metric objects of a prediction.

    - global pLDDT: ``pred.residue_plddt.mean()``, the mean of the per-residue Ca pLDDT over
      all residues (the number the JSON, summary and report show);
    - global pTM;
    - for complexes, the scores of :func:`_complex_metrics`;
    - local pLDDT of each residue that has atoms (ModelCIF points local metrics at
      ``_atom_site``, so atom-less ``UNK`` residues have none);
    - with ``pae``: the PAE of every ordered pair of residues that have atoms.
    """
    types = _metric_types(software)
    residue_plddt = np.asarray(pred.residue_plddt, dtype=np.float64)
    metrics = [types["GlobalPLDDT"](round(float(residue_plddt.mean()), 2)), types["PTM"](round(float(pred.ptm), 3))]
    metrics += _complex_metrics(pred, asyms, types)
    rows = np.flatnonzero(pred.atom_mask.any(axis=1))
    label_seq = label_seq_ids(pred)
    residues = [asyms[int(pred.chain_index[row])].residue(int(label_seq[row])) for row in rows]
    local = np.round(residue_plddt[rows], 2).tolist()
    metrics += [types["LocalPLDDT"](residue, value) for residue, value in zip(residues, local)]
    if pae:
        # [N, N] -> [M, M] over the M residues with atoms.
        values = np.round(np.asarray(pred.pae, dtype=np.float64)[np.ix_(rows, rows)], 2).tolist()
        metrics += [
            types["PAE"](r1, r2, value) for r1, row in zip(residues, values) for r2, value in zip(residues, row)
        ]  # fmt: skip
    return metrics


def _atoms(pred: Prediction, asyms: list):
    """Yield a ``modelcif.model.Atom`` per existing atom, in residue then atom37 order.

    Coordinates are rounded to 3 decimals and B-factors (the atom's pLDDT) to 2, as in the
    PDB file, so that both files carry the same numbers.
    """
    import modelcif.model

    positions = np.round(np.asarray(pred.positions, dtype=np.float64), 3)
    plddt = np.round(np.asarray(pred.plddt, dtype=np.float64), 2)
    label_seq = label_seq_ids(pred)
    for row, slot in zip(*np.nonzero(pred.atom_mask)):
        x, y, z = positions[row, slot].tolist()
        yield modelcif.model.Atom(
            asym_unit=asyms[int(pred.chain_index[row])], seq_id=int(label_seq[row]), atom_id=ATOM37_NAMES[slot],
            type_symbol=ATOM37_ELEMENTS[slot], x=x, y=y, z=z, biso=float(plddt[row, slot]), occupancy=1.0,
        )  # fmt: skip


def _residues_without_atoms(pred: Prediction, asyms: list) -> list:
    """A ``NotModeledResidueRange`` for each residue with no atom (``X``/``UNK``)."""
    import modelcif.model

    label_seq = label_seq_ids(pred)
    empty = np.flatnonzero(~pred.atom_mask.any(axis=1))
    return [
        modelcif.model.NotModeledResidueRange(asyms[int(pred.chain_index[row])], int(label_seq[row]), int(label_seq[row]))
        for row in empty
    ]


def _add_auth_atom_id(block) -> None:
    """Add ``_atom_site.auth_atom_id`` (= ``label_atom_id``) after ``auth_comp_id`` in a gemmi block."""
    site = block.get_mmcif_category("_atom_site.", raw=True)
    if not site:  # no atom at all
        return
    columns = {}
    for key, values in site.items():
        columns[key] = values
        if key == "auth_comp_id":
            columns["auth_atom_id"] = site["label_atom_id"]
    block.set_mmcif_category("_atom_site.", columns, raw=True)
