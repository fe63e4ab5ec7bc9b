"""Tests of remyfold.io.modelcif_writer: the mmCIF file is valid ModelCIF and reads back everywhere.

Checks, on small predictions built without a model (``fake_prediction``):

- validation against the ModelCIF dictionary with python-ihm's validator and with gemmi's
  DDL2 validator. The dictionary cannot be downloaded at test time; the newest one a package
  registry ships is ``/usr/share/libcifpp/mmcif_ma.dic`` in Debian's ``libcifpp-data``
  (ModelCIF 1.4.2, PDBx included; ``.ci/run`` installs it). The ``modelcif`` package writes
  ModelCIF 1.4.9, which differs from 1.4.2 in one respect that touches these files
  (dictionary history, 1.4.7): the model list is keyed by ``_ma_model_list.ordinal_id`` and
  models are grouped in ``_ma_model_group``/``_ma_model_group_link`` instead of by
  ``_ma_model_list.model_id``/``model_group_id``/``model_group_name``. :func:`for_dictionary`
  rewrites just that part into the older layout when the dictionary predates it; every other
  category is validated as written. A test checks the new layout's links separately. Likewise
  the chain-level scores of complexes use per-feature categories (``_ma_feature_list``,
  ``_ma_entity_instance_feature``, ``_ma_qa_metric_feature``, ``_ma_qa_metric_feature_pairwise``
  and the ``per-feature``/``per-feature-pair`` metric modes) that 1.4.2 lacks: :func:`for_dictionary`
  removes them for such a dictionary, and a test checks their links and values separately.
- reading back with gemmi (``cif.read``, ``read_structure``; nothing on stderr) and biotite
  (``CIFFile`` → ``get_structure`` with warnings as errors): coordinates, names, chains,
  numbering and pLDDT in the B-factor column;
- the confidence scores, read back with the ``modelcif`` package's own reader;
- the pairwise PAE written from the array equals what the ``modelcif`` objects write;
- chains without atoms and one-residue chains.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import gemmi
import numpy as np
import pytest
from test_structure_writer import fake_prediction

from remyfold.io.modelcif_writer import build_system
from remyfold.io.residues import ATOM37_NAMES, RESTYPE_NAMES
from remyfold.io.structure_writer import to_mmcif_string, to_pdb_string

MODELCIF_DICTIONARY = Path("/usr/share/libcifpp/mmcif_ma.dic")


def x_prediction(seed=0):
    """Chains A and B share a sequence; chain C has an ``X`` (no atoms) and numbering from 10."""
    pred = fake_prediction(("MGLLEC", "MGLLEC", "AXWGK"), seed=seed)
    pred.residue_number[pred.chain_index == 2] += 9
    return pred


@pytest.fixture(scope="module")
def ihm_dictionary():
    import ihm.dictionary

    _require_dictionary()
    with MODELCIF_DICTIONARY.open(encoding="utf-8") as fh:
        return ihm.dictionary.read(fh)


@pytest.fixture(scope="module")
def gemmi_ddl():
    _require_dictionary()
    messages: list[str] = []
    ddl = gemmi.cif.Ddl(logger=messages.append)
    ddl.read_ddl(gemmi.cif.read(str(MODELCIF_DICTIONARY)))
    return ddl, messages


def _require_dictionary() -> None:
    """Skip where the dictionary is not installed, except in CI, where it must be."""
    if MODELCIF_DICTIONARY.exists():
        return
    message = f"{MODELCIF_DICTIONARY} is missing: apt-get install libcifpp-data (the ModelCIF dictionary)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def complex_prediction(seed=0):
    """``x_prediction`` with the complex scores set (three chains; pair matrices not symmetric in PAE)."""
    pred = x_prediction(seed=seed)
    rng = np.random.default_rng(seed)
    pair = rng.uniform(0, 1, size=(3, 3))
    pred.iptm, pred.actifptm, pred.ranking_confidence = 0.4123, 0.6789, 0.8 * 0.4123 + 0.2 * pred.ptm
    pred.chain_pair_iptm = ((pair + pair.T) / 2).astype(np.float32)
    pred.chain_pair_pae_min = rng.uniform(0, 30, size=(3, 3)).astype(np.float32)
    return pred


FEATURE_CATEGORIES = ("_ma_feature_list.", "_ma_entity_instance_feature.", "_ma_qa_metric_feature.",
                      "_ma_qa_metric_feature_pairwise.")  # fmt: skip


def for_dictionary(text: str, dictionary) -> str:
    """``text`` in the layout of ``dictionary``: pre-1.4.7 ModelCIF has no model groups, and 1.4.2 no
    per-feature scores (those categories and their metric definitions are removed)."""
    document = gemmi.cif.read_string(text)
    block = document.sole_block()
    if "ma_qa_metric_feature" not in dictionary.categories:
        _drop_feature_metrics(block)
    if "ma_model_group" in dictionary.categories:
        return document.as_string()
    models = block.get_mmcif_category("_ma_model_list.")
    group = block.get_mmcif_category("_ma_model_group.")
    link = block.get_mmcif_category("_ma_model_group_link.")
    group_name = dict(zip(group["id"], group["name"]))
    group_of = dict(zip(link["model_id"], link["group_id"]))
    models["model_id"] = list(models["ordinal_id"])
    models["model_group_id"] = [group_of[m] for m in models["ordinal_id"]]
    models["model_group_name"] = [group_name[g] for g in models["model_group_id"]]
    block.set_mmcif_category("_ma_model_list.", models)
    for category in ("_ma_model_group.", "_ma_model_group_link."):
        block.find_mmcif_category(category).erase()
    return document.as_string()


def _drop_feature_metrics(block) -> None:
    """Remove the per-feature categories and the ``_ma_qa_metric`` rows of per-feature modes."""
    for category in FEATURE_CATEGORIES:
        if block.find_mmcif_category(category):
            block.find_mmcif_category(category).erase()
    metrics = block.get_mmcif_category("_ma_qa_metric.", raw=True)
    keep = [i for i, mode in enumerate(metrics["mode"]) if not mode.startswith("per-feature")]
    block.set_mmcif_category("_ma_qa_metric.", {k: [v[i] for i in keep] for k, v in metrics.items()}, raw=True)


def ihm_validate(text: str, dictionary) -> None:
    dictionary.validate(io.StringIO(for_dictionary(text, dictionary)))


def gemmi_problems(text: str, gemmi_ddl, dictionary) -> list[str]:
    """gemmi's DDL2 messages, less notes and the ``_chem_comp_atom`` parent no wwPDB entry has either."""
    ddl, messages = gemmi_ddl
    messages.clear()
    ddl.validate_cif(gemmi.cif.read_string(for_dictionary(text, dictionary)))
    benign = ("category indicated as CONTRIBUTED", "_chem_comp_atom.atom_id")
    return [m for m in messages if not any(b in m for b in benign)]


@pytest.mark.parametrize("pae", [False, True])
@pytest.mark.parametrize("make", [x_prediction, complex_prediction])
def test_valid_against_the_modelcif_dictionary(make, pae, ihm_dictionary, gemmi_ddl):
    text = to_mmcif_string(make(), pae=pae)
    ihm_validate(text, ihm_dictionary)
    assert gemmi_problems(text, gemmi_ddl, ihm_dictionary) == []


def test_validators_catch_a_broken_file(ihm_dictionary, gemmi_ddl):
    """A local pLDDT on a residue that has no atom (what writing the X residue's value would do) fails."""
    import ihm.dictionary

    document = gemmi.cif.read_string(to_mmcif_string(x_prediction()))
    local = document.sole_block().find("_ma_qa_metric_local.", ["label_asym_id", "label_seq_id", "label_comp_id"])
    (row,) = [row for row in local if (row[0], row[1]) == ("C", "3")]
    row[1], row[2] = "2", "UNK"  # now it names residue C 2, the atom-less UNK
    broken = document.as_string()
    with pytest.raises(ihm.dictionary.ValidatorError, match="_ma_qa_metric_local.label_comp_id"):
        ihm_validate(broken, ihm_dictionary)
    assert gemmi_problems(broken, gemmi_ddl, ihm_dictionary) != []


def test_model_groups_link_to_the_model_list():
    block = gemmi.cif.read_string(to_mmcif_string(x_prediction())).sole_block()
    models = block.get_mmcif_category("_ma_model_list.")
    assert models["ordinal_id"] == ["1"] and models["model_type"] == ["Ab initio model"]
    assert block.get_mmcif_category("_ma_model_group_link.") == {"group_id": ["1"], "model_id": ["1"]}
    assert list(block.find_values("_ma_model_group.id")) == ["1"]
    for child in ("_ma_qa_metric_global.model_id", "_ma_qa_metric_local.model_id", "_atom_site.pdbx_PDB_model_num"):
        assert set(block.find_values(child)) == {"1"}


def test_entities_chains_and_atoms_without_residues():
    """One entity per distinct sequence; the atom-less X stays in the sequence, not in _atom_site."""
    pred = x_prediction()
    block = gemmi.cif.read_string(to_mmcif_string(pred)).sole_block()
    poly = block.get_mmcif_category("_entity_poly.")
    assert poly["entity_id"] == ["1", "2"] and poly["pdbx_strand_id"] == ["A,B", "C"]
    assert poly["pdbx_seq_one_letter_code_can"] == ["MGLLEC", "AXWGK"]
    seq = block.get_mmcif_category("_entity_poly_seq.")
    assert [m for e, m in zip(seq["entity_id"], seq["mon_id"]) if e == "2"] == ["ALA", "UNK", "TRP", "GLY", "LYS"]
    asym = block.get_mmcif_category("_struct_asym.")
    assert list(zip(asym["id"], asym["entity_id"])) == [("A", "1"), ("B", "1"), ("C", "2")]
    site = block.get_mmcif_category("_atom_site.")
    assert "UNK" not in site["label_comp_id"]
    c_residues = {(s, a, c) for s, a, c, ch in zip(site["label_seq_id"], site["auth_seq_id"], site["auth_comp_id"],
                                                   site["auth_asym_id"]) if ch == "C"}  # fmt: skip
    assert c_residues == {("1", "10", "ALA"), ("3", "12", "TRP"), ("4", "13", "GLY"), ("5", "14", "LYS")}
    scheme = block.get_mmcif_category("_pdbx_poly_seq_scheme.")
    c_scheme = [(s, m, a) for s, m, a, ch in zip(scheme["seq_id"], scheme["mon_id"], scheme["auth_mon_id"],
                                                 scheme["asym_id"]) if ch == "C"]  # fmt: skip
    assert c_scheme[1] == ("2", "UNK", None)  # '?': not modelled


def test_atom_site_has_every_pdbx_field():
    block = gemmi.cif.read_string(to_mmcif_string(x_prediction())).sole_block()
    site = block.get_mmcif_category("_atom_site.")
    for field in ("group_PDB", "id", "type_symbol", "label_atom_id", "label_comp_id", "label_asym_id",
                  "label_entity_id", "label_seq_id", "auth_atom_id", "auth_comp_id", "auth_asym_id", "auth_seq_id",
                  "pdbx_PDB_ins_code", "Cartn_x", "Cartn_y", "Cartn_z", "occupancy", "B_iso_or_equiv",
                  "pdbx_PDB_model_num"):  # fmt: skip
        assert field in site, field
    assert site["auth_atom_id"] == site["label_atom_id"] and site["auth_comp_id"] == site["label_comp_id"]
    assert set(site["occupancy"]) == {"1.000"}


def test_quality_scores():
    """Global pLDDT = mean per-residue Ca pLDDT (not the all-atom mean); pTM; local pLDDT per modelled residue."""
    import modelcif.qa_metric
    import modelcif.reader

    pred = x_prediction()
    assert abs(pred.residue_plddt.mean() - pred.plddt[pred.atom_mask].mean()) > 0.1  # the two means differ here
    (system,) = modelcif.reader.read(io.StringIO(to_mmcif_string(pred)))
    (model,) = system.model_groups[0]
    globals_ = {m.name: m.value for m in model.qa_metrics if isinstance(m, modelcif.qa_metric.Global)}
    assert globals_ == pytest.approx({"pLDDT": round(float(pred.residue_plddt.mean()), 2), "pTM": 0.734}, abs=1e-9)
    local = [(m.residue.asym.id, m.residue.seq_id, m.value) for m in model.qa_metrics
             if isinstance(m, modelcif.qa_metric.Local)]  # fmt: skip
    modelled = np.flatnonzero(pred.atom_mask.any(axis=1))
    assert len(local) == len(modelled) == pred.length - 1
    expected_values = np.round(pred.residue_plddt[modelled].astype(np.float64), 2)
    assert [v for _, _, v in local] == pytest.approx(expected_values.tolist(), abs=1e-9)
    assert local[-4:][0][:2] == ("C", 1) and local[-3][:2] == ("C", 3)
    assert {type(m).__name__ for m in model.qa_metrics} >= {"pLDDT"}
    assert not any(isinstance(m, modelcif.qa_metric.LocalPairwise) for m in model.qa_metrics)


def test_global_plddt_is_the_mean_of_the_local_values():
    pred = fake_prediction(("MKVLAT", "GGSW"), seed=5)
    block = gemmi.cif.read_string(to_mmcif_string(pred)).sole_block()
    local = [float(v) for v in block.find_values("_ma_qa_metric_local.metric_value")]
    global_plddt = float(list(block.find_values("_ma_qa_metric_global.metric_value"))[0])
    assert len(local) == pred.length
    assert global_plddt == pytest.approx(np.mean(local), abs=0.01)  # both rounded to 2 decimals


def test_pairwise_pae():
    import modelcif.qa_metric
    import modelcif.reader

    pred = x_prediction()
    (system,) = modelcif.reader.read(io.StringIO(to_mmcif_string(pred, pae=True)))
    (model,) = system.model_groups[0]
    pairs = [m for m in model.qa_metrics if isinstance(m, modelcif.qa_metric.LocalPairwise)]
    modelled = np.flatnonzero(pred.atom_mask.any(axis=1))
    assert len(pairs) == len(modelled) ** 2
    assert {(type(m).name, type(m).type) for m in pairs} == {("PAE", "PAE")}
    expected = np.round(pred.pae[np.ix_(modelled, modelled)].astype(np.float64), 2).ravel()
    assert [m.value for m in pairs] == pytest.approx(expected.tolist(), abs=1e-9)
    # Row-major order: residue 1 fixed, residue 2 runs; residue 2 of the second row is the first residue.
    second_row = pairs[len(modelled)]
    assert (second_row.residue1.asym.id, second_row.residue1.seq_id) == ("A", 2)
    assert (second_row.residue2.asym.id, second_row.residue2.seq_id) == ("A", 1)


@pytest.mark.parametrize("make", [x_prediction, complex_prediction])
def test_pae_from_the_array_equals_the_modelcif_objects(make):
    """Fast path (rows formatted from the array) == plain path (one modelcif metric object per pair)."""
    import modelcif.dumper

    pred = make(seed=7)
    plain = io.StringIO()
    modelcif.dumper.write(plain, [build_system(pred, pae=True)])
    plain_block = gemmi.cif.read_string(plain.getvalue()).sole_block()
    fast_block = gemmi.cif.read_string(to_mmcif_string(pred, pae=True)).sole_block()
    names = plain_block.get_mmcif_category_names()  # the fast path appends the pairwise loop last
    assert "_ma_qa_metric_local_pairwise." in names and sorted(names) == sorted(fast_block.get_mmcif_category_names())
    for name in names:
        plain_category = plain_block.get_mmcif_category(name, raw=True)
        fast_category = fast_block.get_mmcif_category(name, raw=True)
        if name == "_atom_site.":
            assert fast_category.pop("auth_atom_id") == plain_category["label_atom_id"]
        assert fast_category == plain_category, name


@pytest.mark.parametrize("chains", [("MK", "XX", "MK"), ("XXX",), ("W",), ("MKV", "W")])
def test_chains_without_atoms_and_single_residues(chains, ihm_dictionary):
    """An all-X chain is a target without coordinates; a one-residue chain is still a polymer."""
    pred = fake_prediction(chains, seed=3)
    text = to_mmcif_string(pred, pae=True)
    ihm_validate(text, ihm_dictionary)
    block = gemmi.cif.read_string(text).sole_block()
    assert list(block.find_values("_struct_asym.id")) == [c.id for c in pred.chains]
    assert set(block.find_values("_entity.type")) == {"polymer"}
    modelled = int(pred.atom_mask.any(axis=1).sum())
    assert len(block.find_values("_ma_qa_metric_local.metric_value")) == modelled
    assert len(block.find_values("_ma_qa_metric_local_pairwise.metric_value")) == modelled**2
    assert len(block.find_values("_atom_site.id")) == int(pred.atom_mask.sum())


@pytest.mark.parametrize("record_id", ["sp|P07196|NFL_HUMAN", "#7", "a'b", "x y"])
def test_record_ids_make_valid_entry_ids(record_id, ihm_dictionary):
    pred = fake_prediction(("MKV",))
    pred.id = record_id
    text = to_mmcif_string(pred)
    ihm_validate(text, ihm_dictionary)
    block = gemmi.cif.read_string(text).sole_block()
    entry_id = block.find_value("_entry.id")
    assert gemmi.cif.as_string(entry_id) == block.name
    assert record_id in gemmi.cif.as_string(block.find_value("_struct.title"))


def test_software_protocol_and_parameters():
    pred = x_prediction()
    pred.model_name, pred.num_recycles, pred.precision = "facebook/esmfold_v1", 3, "bf16"
    block = gemmi.cif.read_string(to_mmcif_string(pred)).sole_block()
    assert list(block.find_values("_software.name")) == ["remyfold", "ESMFold"]
    assert block.find_value("_audit_conform.dict_name") == "mmcif_ma.dic"
    parameters = block.get_mmcif_category("_ma_software_parameter.")
    assert dict(zip(parameters["name"], parameters["value"])) == {
        "weights": "facebook/esmfold_v1", "num_recycles": "3", "precision": "bf16",
    }  # fmt: skip
    assert block.find_value("_ma_protocol_step.method_type") == "modeling"
    assert block.find_value("_citation.pdbx_database_id_DOI") == "10.1126/science.ade2574"
    software_groups = set(block.find_values("_ma_qa_metric.software_group_id"))
    assert software_groups == {block.find_value("_ma_protocol_step.software_group_id")}


def _expected_atoms(pred):
    """(chain, auth number, residue name, atom name, xyz rounded, pLDDT rounded) per existing atom."""
    rows, slots = np.nonzero(pred.atom_mask)
    return [
        (pred.chains[pred.chain_index[r]].id, int(pred.residue_number[r]), RESTYPE_NAMES[pred.aatype[r]],
         ATOM37_NAMES[s], np.round(pred.positions[r, s].astype(np.float64), 3), round(float(pred.plddt[r, s]), 2))
        for r, s in zip(rows, slots)
    ]  # fmt: skip


def test_gemmi_reads_it_silently_with_plddt_as_b_factors(tmp_path, capfd):
    pred = x_prediction(seed=2)
    path = tmp_path / "rec1.cif"
    path.write_text(to_mmcif_string(pred))
    capfd.readouterr()
    gemmi.cif.read(str(path)).sole_block()
    structure = gemmi.read_structure(str(path))
    assert capfd.readouterr() == ("", "")
    assert len(structure) == 1 and [c.name for c in structure[0]] == ["A", "B", "C"]
    assert [(e.name, list(e.subchains)) for e in structure.entities] == [("1", ["A", "B"]), ("2", ["C"])]
    got = [(ch.name, r.seqid.num, r.name, a.name, a.pos.tolist(), a.b_iso)
           for ch in structure[0] for r in ch for a in r]  # fmt: skip
    expected = _expected_atoms(pred)
    assert [g[:4] for g in got] == [e[:4] for e in expected]
    assert np.allclose([g[4] for g in got], [e[4] for e in expected], atol=1e-9)
    assert np.allclose([g[5] for g in got], [e[5] for e in expected], atol=1e-4)  # gemmi holds B as float32


def test_biotite_reads_it_without_warnings(tmp_path):
    import biotite.structure.io.pdbx as pdbx

    pred = x_prediction(seed=4)
    path = tmp_path / "rec1.cif"
    path.write_text(to_mmcif_string(pred))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cif = pdbx.CIFFile.read(str(path))
        atoms = pdbx.get_structure(cif, model=1, extra_fields=["b_factor", "occupancy"])
        sequences = pdbx.get_sequence(cif)
    expected = _expected_atoms(pred)
    assert list(atoms.chain_id) == [e[0] for e in expected]
    assert atoms.res_id.tolist() == [e[1] for e in expected]
    assert list(atoms.res_name) == [e[2] for e in expected]
    assert list(atoms.atom_name) == [e[3] for e in expected]
    assert np.allclose(atoms.coord, [e[4] for e in expected], atol=1e-3)
    assert np.allclose(atoms.b_factor, [e[5] for e in expected], atol=1e-4)
    assert {k: str(v) for k, v in sequences.items()} == {"A": "MGLLEC", "B": "MGLLEC", "C": "AXWGK"}


def test_pdb_reads_without_warnings(tmp_path, capfd):
    import biotite.structure.io.pdb as pdb

    pred = x_prediction(seed=6)
    path = tmp_path / "rec1.pdb"
    path.write_text(to_pdb_string(pred))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        atoms = pdb.PDBFile.read(str(path)).get_structure(model=1, extra_fields=["b_factor"])
    capfd.readouterr()
    structure = gemmi.read_structure(str(path))
    assert capfd.readouterr() == ("", "")
    expected = _expected_atoms(pred)
    assert atoms.array_length() == len(expected) == structure[0].count_atom_sites()
    assert list(atoms.chain_id) == [e[0] for e in expected] and atoms.res_id.tolist() == [e[1] for e in expected]
    assert np.allclose(atoms.b_factor, [e[5] for e in expected], atol=1e-4)


def test_complex_scores_read_back():
    """Global ipTM/actifpTM/ranking confidence, per-chain pTM, per chain pair ipTM and minimum PAE."""
    import modelcif.qa_metric
    import modelcif.reader

    pred = complex_prediction()
    (system,) = modelcif.reader.read(io.StringIO(to_mmcif_string(pred)))
    (model,) = system.model_groups[0]
    globals_ = {m.name: (m.type, m.value) for m in model.qa_metrics if isinstance(m, modelcif.qa_metric.Global)}
    assert globals_["ipTM"] == ("ipTM", 0.412) and globals_["actifpTM"] == ("ipTM", 0.679)
    assert globals_["ranking confidence"] == ("normalized score", round(0.8 * 0.4123 + 0.2 * 0.734, 3))

    def chain(feature):
        (asym,) = feature.asym_units
        return "ABC".index(asym.id)

    per_chain = {chain(m.feature): m.value for m in model.qa_metrics if isinstance(m, modelcif.qa_metric.Feature)}
    assert per_chain == pytest.approx({a: round(float(pred.chain_pair_iptm[a, a]), 3) for a in range(3)}, abs=1e-9)
    pairs = [(m.name, chain(m.feature1), chain(m.feature2), m.value) for m in model.qa_metrics
             if isinstance(m, modelcif.qa_metric.FeaturePairwise)]  # fmt: skip
    iptm = {(a, b): v for name, a, b, v in pairs if name == "ipTM per chain pair"}
    pae_min = {(a, b): v for name, a, b, v in pairs if name == "min. PAE per chain pair"}
    assert iptm == pytest.approx({(a, b): round(float(pred.chain_pair_iptm[a, b]), 3)
                                  for a in range(3) for b in range(a + 1, 3)}, abs=1e-9)  # fmt: skip
    assert pae_min == pytest.approx({(a, b): round(float(pred.chain_pair_pae_min[a, b]), 2)
                                     for a in range(3) for b in range(3) if a != b}, abs=1e-9)  # fmt: skip


def test_chain_features_link_to_chains_and_metrics():
    """The links 1.4.2 cannot validate: features → chains, feature scores → features and metric modes."""
    block = gemmi.cif.read_string(to_mmcif_string(complex_prediction(), pae=True)).sole_block()
    features = block.get_mmcif_category("_ma_feature_list.")
    assert set(features["feature_type"]) == {"entity instance"} and set(features["entity_type"]) == {"polymer"}
    instance = block.get_mmcif_category("_ma_entity_instance_feature.")
    assert sorted(zip(instance["feature_id"], instance["label_asym_id"])) == sorted(
        zip(features["feature_id"], ["A", "B", "C"]))  # fmt: skip
    metrics = block.get_mmcif_category("_ma_qa_metric.")
    mode = dict(zip(metrics["id"], metrics["mode"]))
    single = block.get_mmcif_category("_ma_qa_metric_feature.")
    pairwise = block.get_mmcif_category("_ma_qa_metric_feature_pairwise.")
    assert {mode[m] for m in single["metric_id"]} == {"per-feature"}
    assert {mode[m] for m in pairwise["metric_id"]} == {"per-feature-pair"}
    used = set(single["feature_id"]) | set(pairwise["feature_id_1"]) | set(pairwise["feature_id_2"])
    assert used == set(features["feature_id"])
    assert set(single["model_id"]) | set(pairwise["model_id"]) == {"1"}
    assert len(pairwise["metric_id"]) == 3 + 6  # 3 unordered pairs of ipTM, 6 ordered pairs of minimum PAE


def test_single_chain_has_no_complex_scores():
    block = gemmi.cif.read_string(to_mmcif_string(fake_prediction(("MKVLAT",)))).sole_block()
    metrics = block.get_mmcif_category("_ma_qa_metric.")
    assert "ipTM" not in metrics["type"] and not block.find_mmcif_category("_ma_feature_list.")
