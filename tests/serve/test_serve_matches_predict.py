"""Served results equal `remyfold predict`'s for the same FASTA, weights and recycles (issue 25).

``tiny_server`` runs the tiny random model on one CPU worker; ``run_predict`` folds the same FASTA
with the same weights in this process. Scores and per-residue arrays must agree to the JSON's
2-decimal rounding (a served score that were made up or computed differently would fail; a
range check such as ``0 ≤ mean pLDDT ≤ 100`` would not).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import wait_for_job

from remyfold.pipeline import PredictOptions, run_predict

FASTA = ">helix one\nMKVLAAGIWE\n>pair\nMKVL:GGWE\n>long\nMSTNPKPQRKTKRNTNRRPQDVKFPGG\n"
ROUNDING = 0.011  # both sides round to 2 decimals


@pytest.fixture(scope="module")
def predicted(tiny_weights_dir, tmp_path_factory):
    """``remyfold predict``'s JSON per record for ``FASTA`` with 0 recycles on the CPU."""
    tmp = tmp_path_factory.mktemp("predict-vs-serve")
    fasta = tmp / "in.fa"
    fasta.write_text(FASTA)
    opts = PredictOptions(tmp / "out", weights=tiny_weights_dir, device="cpu", num_recycles=0, progress=False)
    assert [r.status for r in run_predict([fasta], opts)] == ["ok"] * 3
    return {rid: json.loads((opts.out_dir / f"{rid}.json").read_text()) for rid in ("helix", "pair", "long")}


@pytest.fixture(scope="module")
def served(tiny_server):
    with tiny_server.api("alice") as api:
        answer = api.post("/api/v1/jobs", json={"fasta": FASTA, "num_recycles": 0, "name": "same-as-predict"})
        assert answer.status_code == 201, answer.text
        job = wait_for_job(api, answer.json()["id"])
        assert job["state"] == "done", job
        base = f"/api/v1/jobs/{job['id']}"
        files = {r["id"]: api.get(f"{base}/records/{r['id']}/json").json() for r in job["records"]}
        return job, files


def test_served_scores_equal_predicts(predicted, served):
    job, _ = served
    records = {r["id"]: r for r in job["records"]}
    assert sorted(records) == sorted(predicted)
    for rid, expected in predicted.items():
        assert records[rid]["length"] == len(expected["plddt"])
        assert records[rid]["mean_plddt"] == pytest.approx(expected["mean_plddt"], abs=ROUNDING), rid
        assert records[rid]["ptm"] == pytest.approx(expected["ptm"], abs=2e-4), rid


def test_served_json_arrays_equal_predicts(predicted, served):
    _, files = served
    for rid, expected in predicted.items():
        got = files[rid]
        np.testing.assert_allclose(got["plddt"], expected["plddt"], atol=ROUNDING, err_msg=rid)
        np.testing.assert_allclose(got["pae"], expected["pae"], atol=ROUNDING, err_msg=rid)
        assert (got["mean_plddt"], got["num_recycles"]) == pytest.approx((expected["mean_plddt"], 0), abs=ROUNDING)
