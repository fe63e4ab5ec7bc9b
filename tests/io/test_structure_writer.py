"""Tests of remyfold.io.structure_writer: write PDB/mmCIF, read back with gemmi, compare exactly."""

from __future__ import annotations

import gemmi
import numpy as np
import pytest

from remyfold.io.residues import ATOM37_NAMES, RESTYPE_NAMES, RESTYPES_WITH_X
from remyfold.io.structure_writer import prediction_to_structure, to_mmcif_string, to_pdb_string
from remyfold.prediction import Chain, Prediction


def fake_prediction(chain_sequences=("MGLLEC", "MGLLEC", "AXWG"), seed=0) -> Prediction:
    """A prediction with random coordinates/pLDDT; backbone + CB (not for Gly) + one side-chain atom.

    ``X`` residues have no atoms, as in ESMFold's output.
    """
    rng = np.random.default_rng(seed)
    sequence = "".join(chain_sequences)
    n = len(sequence)
    aatype = np.array([RESTYPES_WITH_X.index(c) for c in sequence])
    mask = np.zeros((n, 37), dtype=bool)
    mask[:, [0, 1, 2, 4]] = True  # N CA C O
    mask[:, 3] = aatype != RESTYPES_WITH_X.index("G")  # CB
    mask[:, 5] = aatype == RESTYPES_WITH_X.index("L")  # CG of Leu
    mask[aatype == RESTYPES_WITH_X.index("X")] = False
    lengths = [len(s) for s in chain_sequences]
    return Prediction(
        id="rec1",
        chains=[Chain(chr(ord("A") + i), s) for i, s in enumerate(chain_sequences)],
        aatype=aatype,
        positions=(rng.normal(size=(n, 37, 3)) * 30).astype(np.float32),
        atom_mask=mask,
        plddt=rng.uniform(0, 100, size=(n, 37)).astype(np.float32),
        pae=rng.uniform(0, 30, size=(n, n)).astype(np.float32),
        ptm=0.734,
        chain_index=np.repeat(np.arange(len(lengths)), lengths),
        residue_number=np.concatenate([np.arange(1, k + 1) for k in lengths]),
        num_recycles=4,
    )


def read_back(text: str, fmt: str) -> gemmi.Structure:
    if fmt == "pdb":
        return gemmi.read_pdb_string(text)
    return gemmi.make_structure_from_block(gemmi.cif.read_string(text).sole_block())


def expected_atoms(pred: Prediction):
    """(chain, resnum, resname, atom, element, xyz, plddt) for every masked atom, in atom37 order."""
    rows = []
    for i, slot in zip(*np.nonzero(pred.atom_mask)):
        rows.append((
            pred.chains[pred.chain_index[i]].id, int(pred.residue_number[i]), RESTYPE_NAMES[pred.aatype[i]],
            ATOM37_NAMES[slot], ATOM37_NAMES[slot][0], pred.positions[i, slot], pred.plddt[i, slot],
        ))  # fmt: skip
    return rows


@pytest.mark.parametrize("fmt", ["pdb", "cif"])
def test_round_trip_exact_to_pdb_precision(fmt):
    pred = fake_prediction()
    text = to_pdb_string(pred) if fmt == "pdb" else to_mmcif_string(pred)
    structure = read_back(text, fmt)
    assert len(structure) == 1
    model = structure[0]
    assert [chain.name for chain in model] == ["A", "B", "C"]
    got = [(chain.name, residue, atom) for chain in model for residue in chain for atom in residue]
    expected = expected_atoms(pred)
    assert len(got) == len(expected)
    for (chain, residue, atom), (e_chain, e_num, e_name, e_atom, e_el, e_xyz, e_b) in zip(got, expected):
        assert (chain, residue.seqid.num, residue.name, atom.name, atom.element.name) == (
            e_chain, e_num, e_name, e_atom, e_el)  # fmt: skip
        assert atom.pos.tolist() == pytest.approx(np.round(e_xyz.astype(np.float64), 3).tolist(), abs=1e-9)
        # gemmi keeps B-factors as float32: equal to the 2-decimal value up to float32 precision.
        assert atom.b_iso == pytest.approx(round(float(e_b), 2), abs=1e-4)
        assert atom.occ == 1.0


def test_pdb_and_cif_agree():
    pred = fake_prediction(seed=3)
    pdb = read_back(to_pdb_string(pred), "pdb")
    cif = read_back(to_mmcif_string(pred), "cif")
    pdb_atoms = [(a.name, a.pos.tolist(), a.b_iso) for r in pdb[0].all() for a in [r.atom]]
    cif_atoms = [(a.name, a.pos.tolist(), a.b_iso) for r in cif[0].all() for a in [r.atom]]
    assert pdb_atoms == cif_atoms


def test_pdb_entities_and_seqres():
    """Identical chains A and B share entity 1; chain C (with the atom-less X as UNK) is entity 2."""
    structure = gemmi.read_pdb_string(to_pdb_string(fake_prediction()))
    structure.setup_entities()
    entities = [(list(e.subchains), gemmi.one_letter_code(list(e.full_sequence))) for e in structure.entities]
    assert entities == [(["Axp", "Bxp"], "MGLLEC"), (["Cxp"], "AXWG")]


def test_residue_numbers_follow_prediction():
    pred = fake_prediction(("MKV",))
    pred.residue_number = np.array([5, 6, 9])
    structure = prediction_to_structure(pred)
    assert [r.seqid.num for r in structure[0]["A"]] == [5, 6, 9]
    assert "UNK" not in to_pdb_string(pred)
