"""lDDT at its edges (issue 25): pair blocks and buffered tallies of any size, the inclusion radius.

The cell list scores pairs block by block (:data:`BLOCK_PAIRS`) and sums them in buffers flushed every
:data:`_Bincount.FLUSH` entries; real inputs rarely cross those sizes, so they are shrunk here until
every block and flush boundary is crossed many times, and the result must equal the dense definition.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_metrics import chain_trace, dense_lddt, line_of_atoms

from remyfold.metrics import lddt as lddt_module
from remyfold.metrics.lddt import lddt, symmetric_lddt


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(lddt_module, "BLOCK_PAIRS", 7)
    monkeypatch.setattr(lddt_module._Bincount, "FLUSH", 5)


def noisy_chain(n_atoms: int = 90, seed: int = 11):
    rng = np.random.default_rng(seed)
    reference = chain_trace(n_atoms, rng)
    model = reference + rng.normal(size=reference.shape) * 0.8
    model[::13] = np.nan  # missing atoms
    residue = np.arange(n_atoms) // 3  # three atoms a residue
    return reference, model, residue, n_atoms // 3


def test_small_blocks_and_flushes_give_the_dense_lddt(small_blocks):
    reference, model, residue, n_residues = noisy_chain()
    result = lddt(reference, model, residue, n_residues)
    score, per_residue = dense_lddt(reference, model, residue, n_residues)
    assert result.score == pytest.approx(score, abs=1e-12)
    np.testing.assert_allclose(result.per_residue, per_residue, atol=1e-12)


def test_symmetric_lddt_with_small_blocks_equals_the_default_blocks(small_blocks, monkeypatch):
    reference, model, residue, n_residues = noisy_chain(seed=5)
    model = np.nan_to_num(model, nan=0.0)
    names = ("N", "CA", "CG", "OD1", "OD2") * 18
    # five atoms a residue here: Asp residues whose OD1/OD2 the noise may swap
    residue = np.arange(90) // 5
    residue_names = ("ASP",) * 18
    small_xyz, small = symmetric_lddt(reference, model, residue, names, residue_names)
    monkeypatch.undo()
    big_xyz, big = symmetric_lddt(reference, model, residue, names, residue_names)
    np.testing.assert_array_equal(small_xyz, big_xyz)
    assert small.score == pytest.approx(big.score, abs=1e-12)
    np.testing.assert_allclose(small.per_residue, big.per_residue, atol=1e-12)


def test_a_pair_just_inside_the_radius_counts():
    # 14.9 Å apart (inside 15 Å): the model stretches it by 1 Å, so it meets 2 of the 4 thresholds.
    result = lddt(line_of_atoms([0, 14.9]), line_of_atoms([0, 15.9]), np.arange(2), 2)
    assert result.score == pytest.approx(0.5)
    np.testing.assert_allclose(result.per_residue, [0.5, 0.5])


def test_a_pair_exactly_at_the_radius_is_left_out():
    result = lddt(line_of_atoms([0, 15.0]), line_of_atoms([0, 15.0]), np.arange(2), 2)
    assert np.isnan(result.score) and np.isnan(result.per_residue).all()


def test_a_long_chain_over_hundreds_of_cells_is_scored_to_its_end():
    """400 atoms 10 Å apart on a line: 267 occupied 15 Å cells (more than CPython's small-int cache), one
    pair per neighbour; the model stretches the last gap by 1 Å, so only the last two atoms lose."""
    reference = line_of_atoms(np.arange(400) * 10.0)
    model = reference.copy()
    model[-1, 0] += 1.0
    result = lddt(reference, model, np.arange(400), 400)
    assert result.score == pytest.approx((398 + 0.5) / 399)
    np.testing.assert_allclose(result.per_residue[:-2], 1.0)
    np.testing.assert_allclose(result.per_residue[-2:], [0.75, 0.5])


def test_results_are_immutable():
    import dataclasses

    result = lddt(line_of_atoms([0, 5.0]), line_of_atoms([0, 5.0]), np.arange(2), 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.score = 0.0


ASP_GLY_ASP = (np.array([[0, 0, 0], [1.2, 1.0, 0], [1.2, -1.0, 0], [5, 0, 0], [6, 2, 1],
                         [10, 0, 0], [11.2, 1.0, 0], [11.2, -1.0, 0]], dtype=float),
               np.array([0, 0, 0, 1, 1, 2, 2, 2]), ("CG", "OD1", "OD2", "CA", "N", "CG", "OD1", "OD2"),
               ("ASP", "GLY", "ASP"))  # fmt: skip


def test_an_asp_with_a_missing_oxygen_is_left_as_is_and_the_next_asp_still_resolved():
    """Asp 1 lacks OD2 in the model (NaN) and has OD1 where the reference has OD2: an incomplete pair is
    never swapped. Asp 3, whose OD1/OD2 are swapped, is put right."""
    reference, residue, names, residue_names = ASP_GLY_ASP
    model = reference.copy()
    model[1], model[2] = reference[2], np.nan
    model[[6, 7]] = reference[[7, 6]]
    fixed, _ = symmetric_lddt(reference, model, residue, names, residue_names)
    np.testing.assert_array_equal(fixed[:2], model[:2])
    assert np.isnan(fixed[2]).all()
    np.testing.assert_array_equal(fixed[3:], reference[3:])


def test_an_asp_without_od2_has_no_partner_to_swap():
    reference, residue, names, residue_names = ASP_GLY_ASP
    keep = [0, 1, 3, 4]  # Asp (CG, OD1) and Gly only
    fixed, result = symmetric_lddt(reference[keep], reference[keep], residue[keep], [names[i] for i in keep],
                                   residue_names[:2])  # fmt: skip
    np.testing.assert_array_equal(fixed, reference[keep])
    assert result.score == pytest.approx(1.0)


def test_a_tie_keeps_the_models_naming():
    """A lone Asp has no pair in another residue: swapping gains nothing, so nothing is swapped."""
    reference, residue, names, residue_names = ASP_GLY_ASP
    model = reference[:3][[0, 2, 1]]  # OD1/OD2 swapped, but no pair can tell
    fixed, _ = symmetric_lddt(reference[:3], model, residue[:3], names[:3], residue_names[:1])
    np.testing.assert_array_equal(fixed, model)


def test_pair_blocks_are_immutable():
    import dataclasses

    (block,) = lddt_module.pair_blocks(line_of_atoms([0, 5.0]), np.arange(2))
    assert (block.first.tolist(), block.second.tolist(), block.distance.tolist()) == ([0], [1], [5.0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        block.first = block.second


@pytest.mark.parametrize("xs", [[-13.9, 0.5], [0.5, -13.9], [-7.0, 7.5], [0.0, 14.9], [-14.9, 0.0]])
def test_every_pair_within_the_radius_is_found_wherever_it_sits(xs):
    """Pairs across the origin or with an atom on it (the cell list measures |a|^2 + |b|^2 - 2 a.b)."""
    result = lddt(line_of_atoms(xs), line_of_atoms(xs), np.arange(2), 2)
    assert result.score == 1.0


def test_no_atoms_no_score():
    result = lddt(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0, dtype=int), 0)
    assert np.isnan(result.score) and result.per_residue.shape == (0,)
