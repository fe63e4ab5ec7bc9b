"""`remyfold.prediction`: the small rules that mutation testing found unguarded (issue 25)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from remyfold.prediction import Chain, Prediction, stored_mean_plddt


def prediction(num_recycles: int) -> Prediction:
    n = 3
    return Prediction(
        id="p", chains=[Chain("A", "MKV")], aatype=np.zeros(n, int), positions=np.zeros((n, 37, 3), np.float32),
        atom_mask=np.ones((n, 37), bool), plddt=np.full((n, 37), 50.0, np.float32), pae=np.zeros((n, n), np.float32),
        ptm=0.5, chain_index=np.zeros(n, int), residue_number=np.arange(1, n + 1), num_recycles=num_recycles,
    )  # fmt: skip


@pytest.mark.parametrize(("num_recycles", "passes"), [(0, 1), (3, 4), (4, 5)])
def test_trunk_passes_are_recycles_plus_one(num_recycles, passes):
    assert prediction(num_recycles).trunk_passes == passes


def test_defaults_and_length():
    pred = prediction(0)
    assert (pred.seconds, pred.precision, pred.model_name, pred.weights_revision, pred.extra) == (0.0, "fp32", "", "", {})
    assert pred.length == 3 and pred.sequence == "MKV"


def test_a_chain_is_immutable_and_hashable():
    chain = Chain("A", "MKV")
    assert {chain, Chain("A", "MKV")} == {chain}
    with pytest.raises(dataclasses.FrozenInstanceError):
        chain.sequence = "MKW"


@pytest.mark.parametrize(
    "data",
    [
        {"plddt": ["high", "low"]},  # not numbers (ValueError)
        {"plddt": {"a": 1}},  # not a list (TypeError)
        {"plddt": [[80.0, 90.0], [70.0, 60.0]]},  # not one value per residue
        {"plddt": []},
        {"mean_plddt": True, "mean_plddt_all_atom": 50.0},  # a bool is not a number
    ],
)
def test_stored_mean_of_a_malformed_json_is_none(data):
    assert stored_mean_plddt(data) is None
