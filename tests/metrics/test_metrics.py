"""Tests of the structure metrics: superposition, TM-score/GDT/RMSD against TMscore, and lDDT.

TM-score, RMSD and GDT are checked against values of the ``TMscore`` and
``TMalign`` programs (Debian ``tm-align``) stored in
``tests/data/tm/tmscore_reference.json`` by ``scripts/make_tm_reference.py``, on
correspondences that do not come from remyfold (deposited numbering, TM-align's
structure alignment); when the programs are installed two cases are also run
live. lDDT is checked on hand-worked cases and against biotite's independent
implementation.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import gemmi
import numpy as np
import pytest

from remyfold.metrics import compare_structures
from remyfold.metrics.gdt import gdt_counts, gdt_scores
from remyfold.io.structure_reader import read_chains
from remyfold.metrics.structure_pairing import structure_available
from remyfold.metrics.lddt import SYMMETRIC_ATOMS, lddt, resolve_symmetric_atoms, symmetric_lddt
from remyfold.metrics.superpose import kabsch, superposed_rmsd, transform
from remyfold.metrics.tmscore import MAX_ITERATIONS, seed_lengths, tm_d0, tm_score_search, tm_score_search_plain
from structure_data import package_dir, require_in_ci

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = json.loads((ROOT / "tests" / "data" / "tm" / "tmscore_reference.json").read_text())
TM_TOLERANCE, RMSD_TOLERANCE, GDT_TOLERANCE = 0.005, 0.01, 0.005
HOMOLOG_TM_TOLERANCE = 0.07


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random proper rotation ``[3, 3]`` (QR of a Gaussian matrix)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def chain_trace(n: int, rng: np.random.Generator) -> np.ndarray:
    """A compact random walk ``[n, 3]`` with 3.8 Å steps, like a Cα trace."""
    steps = rng.normal(size=(n, 3))
    steps *= 3.8 / np.linalg.norm(steps, axis=1, keepdims=True)
    return np.cumsum(steps, axis=0)


# --- superposition -------------------------------------------------------------------------------


def test_kabsch_recovers_rigid_motion_and_never_reflects():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3)) * 10
    rotation = random_rotation(rng)
    y = x @ rotation.T + np.array([3.0, -7.0, 12.0])
    r, t = kabsch(x, y, np.ones((1, 30)))
    np.testing.assert_allclose(transform(x, r, t)[0], y, atol=1e-9)
    assert superposed_rmsd(x, y) < 1e-9
    mirrored = x * np.array([1.0, 1.0, -1.0])
    r, _ = kabsch(x, mirrored, np.ones((1, 30)))
    assert np.linalg.det(r[0]) == pytest.approx(1.0)
    assert superposed_rmsd(x, mirrored) > 1.0


def test_kabsch_batch_rows_use_only_their_subset():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(12, 3)) * 5
    y = x @ random_rotation(rng).T
    y[6:] += rng.normal(size=(6, 3)) * 4  # only the first half moves rigidly
    weights = np.zeros((2, 12))
    weights[0, :6] = 1
    weights[1] = 1
    moved = transform(x, *kabsch(x, y, weights))
    np.testing.assert_allclose(moved[0, :6], y[:6], atol=1e-9)
    assert not np.allclose(moved[1, :6], y[:6], atol=1e-3)


# --- TM-score, GDT, RMSD -------------------------------------------------------------------------


def test_d0_and_seed_lengths_follow_tmscore():
    assert tm_d0(10) == 0.5 and tm_d0(15) == 0.5 and tm_d0(18) == 0.5  # 1.24*3^(1/3)-1.8 < 0.5
    assert tm_d0(214) == pytest.approx(1.24 * 199 ** (1 / 3) - 1.8)
    assert seed_lengths(214) == [214, 107, 53, 26, 13, 4]
    assert seed_lengths(10) == [10, 5, 4]
    assert seed_lengths(3) == [3]
    assert seed_lengths(400) == [400, 200, 100, 50, 25, 4]
    assert MAX_ITERATIONS == 20  # TMscore's iteration limit per seed


def test_tm_result_is_immutable():
    import dataclasses

    reference = chain_trace(10, np.random.default_rng(1))
    result = tm_score_search(reference, reference, 10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.tm_score = 0.0


def test_identical_and_moved_copies_score_one():
    rng = np.random.default_rng(2)
    reference = chain_trace(80, rng)
    model = reference @ random_rotation(rng).T + 20.0
    result = tm_score_search(model, reference, 80)
    assert result.tm_score == pytest.approx(1.0)
    assert result.gdt_ts == pytest.approx(1.0) and result.gdt_ha == pytest.approx(1.0)
    assert result.rmsd == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(model @ result.rotation.T + result.translation, reference, atol=1e-8)


def test_partial_coverage_is_normalised_by_reference_length():
    rng = np.random.default_rng(3)
    reference = chain_trace(100, rng)
    result = tm_score_search(reference[:60], reference[:60], 100)
    assert result.tm_score == pytest.approx(0.6)
    assert result.gdt_ts == pytest.approx(0.6) and result.gdt_ha == pytest.approx(0.6)


def test_displaced_quarter_gives_hand_computed_gdt_and_tm():
    # 30 of 120 residues are moved 30 Å away: the best superposition keeps the other 90 exact.
    rng = np.random.default_rng(4)
    reference = chain_trace(120, rng)
    model = reference.copy()
    model[90:] += np.array([30.0, 0.0, 0.0])
    result = tm_score_search(model, reference, 120)
    assert result.gdt_ts == pytest.approx(90 / 120)
    assert result.gdt_ha == pytest.approx(90 / 120)
    d0 = tm_d0(120)
    # The 30 moved residues contribute a little (they are ~30 Å off), the rest exactly 1 each.
    assert 90 / 120 < result.tm_score < (90 + 30 / (1 + (20 / d0) ** 2)) / 120


def test_plain_tm_search_refuses_empty_or_mismatched_pairs():
    with pytest.raises(ValueError, match="need matching non-empty"):
        tm_score_search_plain(np.zeros((0, 3)), np.zeros((0, 3)), 5)
    for model_n, reference_n in ((4, 5), (5, 4)):
        with pytest.raises(ValueError, match="need matching non-empty"):
            tm_score_search_plain(np.zeros((model_n, 3)), np.zeros((reference_n, 3)), 5)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_plain_tm_search_of_one_to_three_exact_pairs(n):
    """Fewer than 4 pairs: every pair is kept; each scores 1, normalised by the reference length 10."""
    reference = chain_trace(n, np.random.default_rng(n))
    result = tm_score_search_plain(reference + 5.0, reference, 10)
    assert result.tm_score == pytest.approx(n / 10)
    assert (result.gdt_ts, result.gdt_ha) == pytest.approx((n / 10, n / 10))


def test_plain_tm_search_close_pairs_raise_the_cutoff_by_half_angstroms_until_three():
    """TMscore's pair selection: distances below the cutoff (3.5 Å here); a row with fewer than 3 gets the
    smallest cutoff 3.5 + 0.5 k above its third-smallest distance; with 3 pairs or fewer in all, no raise,
    and a row that selects nothing takes every pair."""
    from remyfold.metrics.tmscore import _close_pairs

    rows = np.array([[1.0, 2.0, 3.0, 6.0, 9.0],  # three below: as is
                     [1.0, 4.2, 4.7, 6.0, 9.0],  # one below: third 4.7 -> 5.0
                     [1.0, 2.0, 4.2, 6.0, 9.0],  # two below: third 4.2 -> 4.5
                     [1.0, 2.0, 4.2, 4.5, 9.0],  # 4.5 is not below 4.5
                     [1.0, 2.0, 3.5, 3.6, 9.0],  # 3.5 is not below 3.5: third 3.5 -> 4.0
                     [9.0, 4.2, 1.0, 6.0, 4.7]])  # unsorted: third 4.7 -> 5.0  # fmt: skip
    expected = [[1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [0, 1, 1, 0, 1]]
    assert _close_pairs(rows, 3.5).astype(int).tolist() == expected
    assert _close_pairs(np.array([[1.0, 5.0, 6.0]]), 3.5).tolist() == [[True, False, False]]  # 3 pairs: no raise
    assert _close_pairs(np.array([[1.0, 5.0]]), 3.5).tolist() == [[True, False]]
    assert _close_pairs(np.array([[5.0, 6.0]]), 3.5).tolist() == [[True, True]]  # nothing selected: every pair


def test_plain_and_fast_tm_search_agree_for_a_long_reference():
    """A reference of 1000 residues: d0 = 10.5 Å, so the search distance is capped at 8 Å in both engines."""
    rng = np.random.default_rng(12)
    reference = chain_trace(80, rng)
    model = reference @ random_rotation(rng).T + rng.normal(size=(80, 3)) * 4.0
    model[40:] += 9.0
    plain, fast = tm_score_search_plain(model, reference, 1000), tm_score_search(model, reference, 1000)
    assert fast.tm_score == pytest.approx(plain.tm_score, abs=1e-10)
    assert (fast.gdt_ts, fast.gdt_ha) == (plain.gdt_ts, plain.gdt_ha)


def test_gdt_counts_include_each_cutoff_and_count_per_superposition():
    # Two superpositions [B=2, n=6]: a residue at exactly a cutoff counts for it (<=, as TMscore does).
    distances = np.array([[0.5, 1.0, 2.0, 4.0, 8.0, 8.01], [0.0, 0.0, 0.51, 9.0, 9.0, 9.0]])
    assert gdt_counts(distances).tolist() == [[1, 2, 3, 4, 5], [2, 3, 3, 3, 3]]


def test_gdt_scores_average_the_right_cutoffs():
    # counts within 0.5, 1, 2, 4, 8 Å for L = 10
    assert gdt_scores(np.array([1, 2, 4, 6, 8]), 10) == pytest.approx(((2 + 4 + 6 + 8) / 40, (1 + 2 + 4 + 6) / 40))


def case_paths(case: dict, tmp_path: Path) -> tuple[Path, Path]:
    """Model and reference files of a golden case; a ``model_chains`` case gets a model file
    holding only those chains."""
    model = package_dir(case.get("package", "mdanalysistests")) / case["model"]
    reference = package_dir(case.get("package_reference", case.get("package", "mdanalysistests"))) / case["reference"]
    if "model_chains" in case:
        structure = gemmi.read_structure(str(model))
        for chain in reversed(range(len(structure[0]))):
            if structure[0][chain].name not in case["model_chains"].split(","):
                del structure[0][chain]
        model = tmp_path / "model_chains.pdb"
        structure.write_pdb(str(model))
    return model, reference


def compare_case(case: dict, tmp_path: Path, **options) -> dict:
    model, reference = case_paths(case, tmp_path)
    return compare_structures(
        model,
        reference,
        model_index=case.get("model_index", 1),
        reference_model_index=case.get("reference_model_index", 1),
        chains=case.get("chains"),
        chain_map=case.get("chain_map"),
        **options,
    )


def assert_matches_tmscore(ours: dict, expected: dict) -> None:
    assert ours["aligned_residues"] == expected["common_residues"]
    assert ours["reference_length"] == expected["reference_length"]
    assert ours["tm_score"] == pytest.approx(expected["tm_score"], abs=TM_TOLERANCE)
    assert ours["rmsd"] == pytest.approx(expected["rmsd"], abs=RMSD_TOLERANCE)
    assert ours["gdt_ts"] == pytest.approx(expected["gdt_ts"], abs=GDT_TOLERANCE)
    assert ours["gdt_ha"] == pytest.approx(expected["gdt_ha"], abs=GDT_TOLERANCE)


NUMBERED = [case for case in REFERENCE["cases"] if case.get("pairing", "numbering") == "numbering"]
HOMOLOGS = [case for case in REFERENCE["cases"] if case.get("pairing") == "tmalign"]


@pytest.mark.parametrize("case", NUMBERED, ids=lambda case: case["name"])
def test_scores_match_tmscore_on_deposited_numbering(case, tmp_path):
    # TMscore paired these by the files' own residue numbers (TMscore -c for complexes and for a
    # model missing a chain): remyfold must pair them the same way, by numbering, and score alike.
    ours = compare_case(case, tmp_path)
    assert_matches_tmscore(ours, case["tmscore"])
    assert {pair["pairing"] for pair in ours["chain_pairs"]} == {"numbering"}
    if case["model"] == case["reference"]:
        assert ours["sequence_identity"] == 1.0  # copies of one protein in one file
    if "model_chains" in case:
        assert ours["missing_chains"] and ours["warnings"]
    else:
        assert ours["missing_chains"] == []


@pytest.mark.parametrize("case", HOMOLOGS, ids=lambda case: case["name"])
def test_structure_pairing_matches_tmalign(case, tmp_path):
    # remyfold's structure pairing is TM-align's (through tmtools): scored like TMscore scores
    # the Debian TMalign program's alignment.
    if not structure_available():
        require_in_ci("tmtools (pip install 'remyfold[structure]')")
    ours = compare_case(case, tmp_path, pairing="structure")
    assert_matches_tmscore(ours, case["tmscore"])
    assert ours["tm_score"] == pytest.approx(case["tmalign"]["tm_score"], abs=TM_TOLERANCE)


@pytest.mark.parametrize("case", HOMOLOGS, ids=lambda case: case["name"])
def test_automatic_pairing_of_homologs_is_close_to_tmalign(case, tmp_path):
    # Whatever the automatic choice (sequence alignment with BLOSUM62, or structure below the
    # identity where that is reliable), the TM-score is within HOMOLOG_TM_TOLERANCE of TM-align's,
    # which is the most any pairing can reach. An identity matrix in place of BLOSUM62 (TM 0.44
    # instead of 0.76 on tcr_alpha_1bd2_vs_3kpr) or a structure pairing that is not used where the
    # sequence is unreliable fail here.
    if not structure_available():
        require_in_ci("tmtools (pip install 'remyfold[structure]')")
    ours = compare_case(case, tmp_path)
    expected = case["tmalign"]["tm_score"]
    assert expected - HOMOLOG_TM_TOLERANCE <= ours["tm_score"] <= expected + TM_TOLERANCE
    assert ours["aligned_residues"] >= 0.95 * case["tmscore"]["common_residues"]


def test_live_tmscore_agrees(data, tmp_path):
    if shutil.which("TMscore") is None or shutil.which("TMalign") is None:
        require_in_ci("TMscore/TMalign (apt-get install tm-align)")
    spec = importlib.util.spec_from_file_location("make_tm_reference", ROOT / "scripts" / "make_tm_reference.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for name in ("tcr_alpha_1bd2_vs_3kpr", "hiv_protease_chain_a_only_vs_dimer"):
        case = next(c for c in script.CASES if c["name"] == name)
        expected = script.run_case(case)["tmscore"]
        options = {"pairing": "structure"} if case.get("pairing") == "tmalign" and structure_available() else {}
        if case.get("pairing") != "tmalign" or options:
            assert_matches_tmscore(compare_case(case, tmp_path, **options), expected)


# --- lDDT ----------------------------------------------------------------------------------------


def line_of_atoms(xs) -> np.ndarray:
    return np.array([[x, 0.0, 0.0] for x in xs])


def test_lddt_identical_is_one():
    rng = np.random.default_rng(5)
    xyz = chain_trace(20, rng)
    result = lddt(xyz, xyz.copy(), np.arange(20), 20)
    assert result.score == 1.0
    np.testing.assert_array_equal(result.per_residue, 1.0)


def test_lddt_hand_worked_three_atoms():
    # Reference at x = 0, 5, 10; the model moves the last atom to 10.7 Å.
    # Pairs (0,1): |5-5| = 0 -> 4/4; (0,2): |10.7-10| = 0.7 -> 3/4; (1,2): 0.7 -> 3/4.
    result = lddt(line_of_atoms([0, 5, 10]), line_of_atoms([0, 5, 10.7]), np.arange(3), 3)
    assert result.score == pytest.approx((1 + 0.75 + 0.75) / 3)
    np.testing.assert_allclose(result.per_residue, [0.875, 0.875, 0.75])


def test_lddt_thresholds_are_strict_and_radius_excludes_far_pairs():
    # Deviation of exactly 0.5 Å fails the 0.5 Å threshold; the pair 16 Å apart is not scored.
    result = lddt(line_of_atoms([0, 5, 16]), line_of_atoms([0, 5.5, 16]), np.arange(3), 3)
    # Pairs in range: (0,1) dev 0.5 -> 3/4; (1,2) ref 11, model 10.5 -> dev 0.5 -> 3/4.
    assert result.score == pytest.approx(0.75)


def test_lddt_ignores_pairs_within_a_residue_and_penalises_missing_atoms():
    reference = line_of_atoms([0, 1.5, 6, 7.5])
    model = line_of_atoms([0, 3.0, 6, 7.5])  # moves an atom only relative to its residue mate
    residue = np.array([0, 0, 1, 1])
    within = lddt(reference, model, residue, 2)
    assert within.per_residue[1] < 1.0  # residue 1 sees atom 1 moved by 1.5 Å
    missing = model.copy()
    missing[3] = np.nan
    result = lddt(reference, missing, residue, 2)
    assert result.score < within.score
    no_pairs = lddt(line_of_atoms([0, 1.5]), line_of_atoms([0, 1.5]), np.array([0, 0]), 1)
    assert np.isnan(no_pairs.per_residue[0]) and np.isnan(no_pairs.score)


def test_symmetric_side_chain_names_are_resolved():
    # An Asp whose OD1/OD2 are swapped in the model, next to a Gly.
    reference = np.array([[0, 0, 0], [1.2, 1.0, 0], [1.2, -1.0, 0], [5, 0, 0], [6, 2, 1]], dtype=float)
    model = reference[[0, 2, 1, 3, 4]]
    residue = np.array([0, 0, 0, 1, 1])
    names, residue_names = ("CG", "OD1", "OD2", "CA", "N"), ("ASP", "GLY")
    assert lddt(reference, model, residue, 2).score < 1.0
    fixed = resolve_symmetric_atoms(reference, model, residue, names, residue_names)
    assert lddt(reference, fixed, residue, 2).score == pytest.approx(1.0)


def test_lddt_matches_biotite(data):
    structure = pytest.importorskip("biotite.structure")

    (reference,) = read_chains(data / "adk_closed.pdb")
    (model,) = read_chains(data / "adk_open.pdb")
    assert reference.atom_names == model.atom_names  # same force-field files: atoms correspond 1:1
    atoms = structure.AtomArray(len(reference.atom_names))
    atoms.coord = reference.atom_positions
    atoms.res_id = reference.atom_residue + 1
    atoms.chain_id = np.full(len(reference.atom_names), "A")
    ours = lddt(
        reference.atom_positions,
        model.atom_positions,
        reference.atom_residue,
        reference.length,
    )
    theirs = structure.lddt(atoms, model.atom_positions.astype(np.float32))
    per_residue = structure.lddt(atoms, model.atom_positions.astype(np.float32), aggregation="residue")
    assert ours.score == pytest.approx(theirs, abs=1e-6)
    np.testing.assert_allclose(ours.per_residue, per_residue, atol=1e-6)
    ours_ca = lddt(
        reference.ca_positions,
        model.ca_positions,
        np.arange(reference.length),
        reference.length,
    )
    theirs_ca = structure.lddt(atoms[reference.ca_atom], model.ca_positions.astype(np.float32))
    assert ours_ca.score == pytest.approx(theirs_ca, abs=1e-6)


# --- fast paths against the plain ones -----------------------------------------------------------


def real_ca_pairs(data):
    """Aligned Cα pairs ``(model [n, 3], reference [n, 3], L)`` of a few real comparisons."""
    from remyfold.metrics.alignment import align_chains
    from remyfold.metrics.compare import build_correspondence

    pairs = []
    for model, reference, options in (
        ("adk_open.pdb", "adk_closed.pdb", {}),
        ("nmr_neopetrosiamide.pdb", "nmr_neopetrosiamide.pdb", {"model_index": 7}),
        ("4E43.pdb", "1hvr.pdb", {}),
    ):
        (m, *_), (r, *_) = read_chains(data / model, **options), read_chains(data / reference)
        layout = build_correspondence([align_chains(m, r)])
        pairs.append((layout.model_ca[layout.aligned], layout.reference_ca[layout.aligned], len(layout.reference_ca)))
    return pairs


def assert_fast_equals_plain(cases) -> None:
    """Same TM-score, GDT counts, RMSD and superposition from both engines on each case."""
    for model, reference, length in cases:
        plain = tm_score_search_plain(model, reference, length)
        fast = tm_score_search(model, reference, length)
        assert fast.tm_score == pytest.approx(plain.tm_score, abs=1e-10)
        assert (fast.gdt_ts, fast.gdt_ha) == (plain.gdt_ts, plain.gdt_ha)
        assert fast.rmsd == pytest.approx(plain.rmsd, abs=1e-10)
        np.testing.assert_allclose(
            model @ fast.rotation.T + fast.translation, model @ plain.rotation.T + plain.translation, atol=1e-6
        )


def test_fast_tm_search_equals_plain(data):
    rng = np.random.default_rng(7)
    cases = real_ca_pairs(data)
    # From 4 pairs on, every superposition uses >= 3 pairs (with 3 or fewer, a 1- or 2-point
    # superposition has no unique rotation, in TMscore either).
    for n in (4, 9, 60, 150):
        reference = chain_trace(n, rng)
        model = reference @ random_rotation(rng).T + rng.normal(size=(n, 3)) * 2.5
        model[n // 2 :] += 6.0  # a displaced part so that the search iterates
        cases.append((model, reference, n + 5))
    assert_fast_equals_plain(cases)


def dense_lddt(reference, model, residue, n_residues):
    """lDDT by the full distance matrix (the textbook definition), per atom pair both ways."""
    ref_d = np.linalg.norm(reference[:, None] - reference[None], axis=2)
    model_d = np.linalg.norm(model[:, None] - model[None], axis=2)
    pairs = (ref_d < 15.0) & (residue[:, None] != residue[None])
    error = np.abs(model_d - ref_d)
    met = sum((error < t).astype(float) for t in (0.5, 1.0, 2.0, 4.0)) / 4 * pairs
    per_atom, count = met.sum(axis=1), pairs.sum(axis=1)
    with np.errstate(invalid="ignore"):
        per_residue = np.bincount(residue, per_atom, n_residues) / np.bincount(residue, count, n_residues)
    return met.sum() / pairs.sum(), per_residue


def test_cell_list_lddt_equals_dense(data):
    (reference,) = read_chains(data / "adk_closed.pdb")
    (model,) = read_chains(data / "adk_open.pdb")
    model_xyz = model.atom_positions.copy()
    model_xyz[::17] = np.nan  # missing atoms
    fast = lddt(reference.atom_positions, model_xyz, reference.atom_residue, reference.length)
    score, per_residue = dense_lddt(reference.atom_positions, model_xyz, reference.atom_residue, reference.length)
    assert fast.score == pytest.approx(score, abs=1e-12)
    np.testing.assert_allclose(fast.per_residue, per_residue, atol=1e-12)


def test_symmetric_resolution_equals_brute_force(data):
    # Every residue decides against the model as given: check each decision with the dense lDDT.
    (reference,) = read_chains(data / "adk_closed.pdb")
    (model,) = read_chains(data / "adk_open.pdb")
    rng = np.random.default_rng(3)
    model_xyz = model.atom_positions + rng.normal(size=model.atom_positions.shape) * 0.6
    fixed = resolve_symmetric_atoms(
        reference.atom_positions, model_xyz, reference.atom_residue, reference.atom_names, reference.residue_names
    )
    ref_d = np.linalg.norm(reference.atom_positions[:, None] - reference.atom_positions[None], axis=2)
    residue = reference.atom_residue
    in_range = (ref_d < 15.0) & (residue[:, None] != residue[None])
    swapped_any = False
    for index, name in enumerate(reference.residue_names):
        atoms = np.flatnonzero(residue == index)
        names = [reference.atom_names[a] for a in atoms]
        pairs = [(atoms[names.index(a)], atoms[names.index(b)]) for a, b in SYMMETRIC_ATOMS.get(name, ()) if a in names]
        if not pairs:
            continue
        swapped = model_xyz.copy()
        for a, b in pairs:
            swapped[[a, b]] = model_xyz[[b, a]]

        def score(xyz):
            d = np.linalg.norm(xyz[atoms][:, None] - xyz[None], axis=2)
            error = np.abs(d - ref_d[atoms])
            return (sum((error < t).astype(float) for t in (0.5, 1.0, 2.0, 4.0)) * in_range[atoms]).sum()

        expected = swapped if score(swapped) > score(model_xyz) + 1e-9 else model_xyz
        np.testing.assert_array_equal(fixed[atoms], expected[atoms])
        swapped_any |= expected is swapped
    assert swapped_any  # the noise makes some residues prefer the other naming


def test_one_pass_symmetric_lddt_equals_two_passes(data):
    (reference,) = read_chains(data / "adk_closed.pdb")
    (model,) = read_chains(data / "adk_open.pdb")
    model_xyz = model.atom_positions + np.random.default_rng(4).normal(size=model.atom_positions.shape) * 0.6
    args = (reference.atom_positions, model_xyz, reference.atom_residue, reference.atom_names, reference.residue_names)
    resolved, one_pass = symmetric_lddt(*args)
    np.testing.assert_array_equal(resolved, resolve_symmetric_atoms(*args))
    two_pass = lddt(reference.atom_positions, resolved, reference.atom_residue, reference.length)
    assert one_pass.score == pytest.approx(two_pass.score, abs=1e-12)
    np.testing.assert_allclose(one_pass.per_residue, two_pass.per_residue, atol=1e-12)


def test_structure_pairing_of_a_chain_with_itself_is_the_identity_and_frozen(data):
    import dataclasses

    from remyfold.metrics.structure_pairing import tm_align_pairs

    pytest.importorskip("tmtools")
    (chain, *_) = read_chains(data / "1hvr.pdb")
    pairs = tm_align_pairs(chain.ca_positions, chain.ca_positions, chain.sequence, chain.sequence)
    assert pairs.query_residues.tolist() == pairs.target_residues.tolist() == list(range(chain.length))
    assert pairs.tm_score == pytest.approx(1.0) and pairs.tm_score_query == pytest.approx(1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        pairs.tm_score = 0.0


def test_structure_pairing_without_tmtools_is_a_one_line_input_error(monkeypatch):
    import sys

    from remyfold.errors import InputError
    from remyfold.metrics.structure_pairing import EXTRA_HINT, tm_align_pairs

    monkeypatch.setitem(sys.modules, "tmtools", None)  # import tmtools -> ImportError
    with pytest.raises(InputError, match="remyfold\\[structure\\]") as err:
        tm_align_pairs(np.zeros((3, 3)), np.zeros((3, 3)), "AAA", "AAA")
    assert str(err.value) == EXTRA_HINT


def test_kabsch_rmsd_of_a_square_twice_the_size_is_one():
    """Four points at distance 1 from the centre against the same square at distance 2: every point is 1 Å off."""
    mobile = np.array([[1.0, 0, 0], [-1.0, 0, 0], [0, 1.0, 0], [0, -1.0, 0]])
    assert superposed_rmsd(mobile, 2.0 * mobile) == pytest.approx(1.0)


def test_fast_tm_search_close_pairs_equal_the_plain_ones():
    """The fast engine's pair selection (on squared distances) against the plain one, on the hand-made rows of
    the plain test (edges at 3.5 and 4.5 Å) and on random rows, several of them with fewer than 3 close pairs."""
    from remyfold.metrics.tmscore import _close_pairs
    from remyfold.metrics.tmscore_fast import _Search

    rng = np.random.default_rng(8)
    rows = np.concatenate([np.array([[1.0, 2.0, 3.0, 6.0, 9.0], [1.0, 4.2, 4.7, 6.0, 9.0], [1.0, 2.0, 4.2, 6.0, 9.0],
                                     [1.0, 2.0, 4.2, 4.5, 9.0], [1.0, 2.0, 3.5, 3.6, 9.0], [9.0, 4.2, 4.7, 6.0, 1.0]]),
                           rng.uniform(0.0, 12.0, size=(40, 5))])  # fmt: skip
    search = _Search(np.zeros((5, 3)), np.zeros((5, 3)), 10)
    for cutoff in (3.5, 4.5, 6.5):
        np.testing.assert_array_equal(search.close_pairs(rows**2, cutoff), _close_pairs(rows, cutoff))


def test_fast_tm_search_refuses_empty_or_mismatched_pairs_and_scores_one_to_three_pairs():
    for model_n, reference_n in ((0, 0), (4, 5), (5, 4)):
        with pytest.raises(ValueError, match="need matching non-empty"):
            tm_score_search(np.zeros((model_n, 3)), np.zeros((reference_n, 3)), 5)
    for n in (1, 2, 3):
        reference = chain_trace(n, np.random.default_rng(n))
        result = tm_score_search(reference + 5.0, reference, 10)
        assert result.tm_score == pytest.approx(n / 10)
        assert (result.gdt_ts, result.gdt_ha) == pytest.approx((n / 10, n / 10))


# --- the fast search against the plain one on inputs that exercise every branch ------------------


def displaced_domains(rng: np.random.Generator, n: int, domains: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """``(model, reference)`` ``[n, 3]``: a trace whose ``domains`` segments are each turned part-way and shifted
    a few Å, plus noise, the whole model then moved rigidly (the search iterates, reselects, raises cutoffs)."""
    reference = chain_trace(n, rng)
    model = reference.copy()
    cuts = np.sort(rng.choice(np.arange(1, n), size=domains - 1, replace=False))
    for lo, hi in zip([0, *cuts], [*cuts, n]):
        centre, weight = model[lo:hi].mean(axis=0), rng.uniform(0.1, 1.0)
        turn = np.eye(3) * (1 - weight) + random_rotation(rng) * weight
        model[lo:hi] = (model[lo:hi] - centre) @ turn.T + centre + rng.normal(size=3) * 4.0
    model += rng.normal(size=(n, 3)) * noise
    return model @ random_rotation(rng).T + rng.normal(size=3) * 10.0, reference


def bent_line(n: int, bend: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(model, reference)``: a straight 3.8 Å line (0.3 Å noise) against the same line curled by ``bend`` rad
    a residue: the selection grows a little each iteration, so trajectories run to the 20-iteration limit."""
    rng = np.random.default_rng(seed)
    reference = np.stack([3.8 * np.arange(n), np.zeros(n), np.zeros(n)], axis=1) + rng.normal(size=(n, 3)) * 0.3
    c, s = np.cos(bend), np.sin(bend)
    turn = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    model = reference.copy()
    for i in range(1, n):
        model[i:] = (model[i:] - model[i - 1]) @ turn.T + model[i - 1]
    return model, reference


def domain_cases(seed: int, count: int) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """``count`` cases ``(model, reference, L)`` of 4 to 70 pairs, 1 to 4 domains, L from n to 400."""
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        n = int(rng.choice([4, 5, 6, 7, 8, 10, 12, 16, 24, 40, 70]))
        domains, noise = min(int(rng.integers(1, 5)), n - 1), float(rng.choice([0.3, 1.0, 2.5, 5.0]))
        model, reference = displaced_domains(rng, n, domains, noise)
        cases.append((model, reference, int(rng.choice([n, n + 3, 2 * n, 400]))))
    return cases


def test_fast_tm_search_equals_plain_on_displaced_domains_and_bent_chains():
    """Decoys with up to 4 displaced domains (rows that drop pairs only, rows left alone in their batch, cutoffs
    raised by several 0.5 Å steps, L > n) and bent lines whose trajectories use all 20 iterations."""
    assert_fast_equals_plain(domain_cases(0, 90) + [(*bent_line(100, 0.025, 1), 100)])


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_fast_tm_search_equals_plain_for_a_short_iteration_limit(monkeypatch, limit):
    """The fast engine skips a selection already reached with at least as many iterations left: with a limit of
    1 to 3 iterations trajectories are cut often, so a wrong budget in that memo changes the result."""
    import remyfold.metrics.tmscore as plain_module
    import remyfold.metrics.tmscore_fast as fast_module

    monkeypatch.setattr(plain_module, "MAX_ITERATIONS", limit)
    monkeypatch.setattr(fast_module, "MAX_ITERATIONS", limit)
    assert_fast_equals_plain(domain_cases(4, 60))


def test_plain_and_fast_tm_search_close_pairs_take_the_third_smallest_of_long_rows():
    """Rows of 257 distances with many ties (where np.partition leaves only its kth element in place): a row with
    fewer than 3 pairs below the cutoff raises it above its third-smallest distance, found in the sorted row."""
    from remyfold.metrics.tmscore import _close_pairs
    from remyfold.metrics.tmscore_fast import _Search

    rng, n, cutoff = np.random.default_rng(0), 257, 3.5
    rows = []
    for low in (2, 3):  # 2 pairs below the cutoff and one at 3.6-4.9 Å (or 3 low ones, the third above the cutoff)
        for _ in range(40):
            row = np.full(n, 5.0)
            row[rng.choice(n, n // 2 + 1, replace=False)] = rng.uniform(6.0, 9.0, n // 2 + 1)
            picks = rng.choice(n, low, replace=False)
            row[picks] = np.concatenate([rng.uniform(0.0, 1.0, low - 1), rng.uniform(3.6, 4.9, 1)])
            rows.append(row)
    rows = np.array(rows)
    third = np.sort(rows, axis=1)[:, 2]
    raised = cutoff + 0.5 * (np.floor((third - cutoff) / 0.5) + 1.0)
    expected = rows < raised[:, None]
    np.testing.assert_array_equal(_close_pairs(rows, cutoff), expected)
    search = _Search(np.zeros((n, 3)), np.zeros((n, 3)), 300)
    np.testing.assert_array_equal(search.close_pairs(rows**2, cutoff), expected)


def test_fast_tm_search_of_three_pairs_keeps_two_close_ones_and_all_when_none_is_close():
    """With 3 pairs in all the cutoff is never raised: one vertex of a triangle 12 Å off leaves two pairs
    selected, superposed exactly (TM >= 2/L, two pairs within 0.5 Å); a triangle against one 100 times smaller
    selects nothing, and falls back to all three pairs (no 0-pair superposition)."""
    reference = np.array([[0.0, 0.0, 0.0], [3.8, 0.0, 0.0], [1.9, 3.3, 0.0]])
    model = reference.copy()
    model[2, 2] += 12.0
    for search in (tm_score_search, tm_score_search_plain):
        result = search(model, reference, 10)
        assert 0.2 <= result.tm_score < 0.21
        assert result.gdt_ha == pytest.approx(0.2)
    far = np.array([[0.0, 0.0, 0.0], [30.0, 0.0, 0.0], [0.0, 30.0, 0.0]])
    with np.errstate(all="raise"):
        small = tm_score_search(far * 0.01, far, 10)
    assert small.tm_score == pytest.approx(tm_score_search_plain(far * 0.01, far, 10).tm_score, abs=1e-10)


def test_fast_tm_search_equals_plain_when_a_selection_flips_every_pair():
    """8 pairs (found by a search, L = 8): the seed 0-3, fitted, selects pairs 0-4 by a cutoff raised to 17 Å;
    their own fit leaves all five beyond 5.5 Å and selects exactly the other three. That row changed every
    pair: it must go on (its next superposition, on pairs 5-7, is the best one), not be taken for converged."""
    model = np.array([[12.4, 8.6, -0.2], [-9.7, -13.1, -1.0], [0.9, -1.8, 9.2], [4.0, -2.3, 6.0],
                      [-16.7, 9.1, 2.5], [-6.6, 6.0, -16.4], [-7.3, -2.4, -41.3], [-16.1, 13.8, 12.2]])
    reference = np.array([[-1.1, -25.1, 5.9], [7.2, -9.7, -0.2], [5.5, 4.6, -8.4], [26.7, -5.9, -9.0],
                          [1.3, 8.6, -14.0], [-10.8, 1.6, 4.4], [-12.3, -0.8, 29.7], [0.9, 6.5, -24.1]])  # fmt: skip
    assert_fast_equals_plain([(model, reference, 8)])
    assert tm_score_search(model, reference, 8).tm_score == pytest.approx(0.2572451, abs=1e-6)
