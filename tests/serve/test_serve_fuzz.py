"""Property-based fuzzing of the OpenAPI description (schemathesis): no request gets a 5xx answer.

Runs against ``queue_server`` (a real uvicorn, no worker: jobs stay queued, small limits) with
a bounded, derandomized number of examples per operation, so it is quick and repeatable.
Schemathesis' strategies are driven by Hypothesis directly (its pytest plugin needs the schema
at import time, before the server exists). Random path ids only meet 404s, so the compare route
and cancel are fuzzed a second time against real jobs: a finished one (its record and an
uploaded reference are fuzzed) and queued ones.
"""

from __future__ import annotations

import httpx
import pytest
from conftest import QUEUE_LIMITS, app_thread, make_users

from remyfold.serve import auth
from remyfold.serve.config import ServeConfig
from remyfold.serve.results import write_input
from remyfold.serve.store import Store

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402

EXAMPLES_PER_OPERATION = 30
REAL_JOB_ROUTES = {("POST", "/api/v1/jobs/{job_id}/records/{record_id}/compare"), ("POST", "/api/v1/jobs/{job_id}/cancel")}


def fuzz(operation, url: str, headers: dict, seen: dict, path_parameters: dict | None = None) -> None:
    """Call ``operation`` with generated requests (path ids fixed when given): never a 5xx."""

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def no_5xx(case):
        if path_parameters is not None:
            case.path_parameters = dict(path_parameters)
        response = case.call(base_url=url, headers=headers)
        label = f"{case.method} {case.formatted_path}"
        assert response.status_code < 500, f"{label}: {response.status_code} {response.text[:300]}"
        if response.status_code >= 400:
            assert "detail" in response.json(), label
        seen[response.status_code] = seen.get(response.status_code, 0) + 1

    no_5xx()


def test_no_server_errors(queue_server):
    headers = {"Authorization": f"Bearer {queue_server.tokens['fuzz']}"}
    schema = schemathesis.openapi.from_url(f"{queue_server.url}/openapi.json", headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    seen = {}
    for operation in operations:
        fuzz(operation, queue_server.url, headers, seen)
    assert seen.get(200, 0) + seen.get(201, 0) > 0 and sum(seen.values()) >= 5 * len(operations)


def finished_job(data_dir) -> str:
    """A job of user ``fuzz`` folded by the worker's own code with the fake engine; its id."""
    from test_cli_predict import fake_prediction
    from test_serve_store import local

    from remyfold.serve.worker import run_job

    class Engine:
        device = "cpu"

        def fold_batch(self, records, *, num_recycles=None, progress=None):
            return [fake_prediction(record_id, sequence) for record_id, sequence in records]

    config = ServeConfig(data_dir=data_dir)
    store = Store(config.database)
    owner = store.set_token_hash("fuzz", auth.hash_secret("rft_fuzz"))  # a token this test knows
    write_input(config, "finished", ">rec\nMKVLAAGIWE\n")
    store.submit(owner, "finished", name="f", n_records=1, n_residues=10, num_recycles=None, max_active=100)
    run_job(store, config, local(Engine()), "cpu", store.claim_next("w"))
    assert store.job(owner, "finished").state == "done"
    return "finished"


def test_compare_and_cancel_on_real_jobs_no_server_errors(tmp_path):
    data_dir = tmp_path / "data"
    make_users(data_dir, names=("fuzz",))
    job_id = finished_job(data_dir)
    headers = {"Authorization": "Bearer rft_fuzz"}
    config = ServeConfig(data_dir=data_dir, secure_cookies=False, atlas_wait_s=0.3, limits=QUEUE_LIMITS)
    with app_thread(config) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json", headers=headers)
        operations = {(op.method.upper(), op.path): op for op in (r.ok() for r in schema.get_all_operations())}
        assert REAL_JOB_ROUTES <= set(operations)
        seen = {}
        fuzz(operations[("POST", "/api/v1/jobs/{job_id}/records/{record_id}/compare")], url, headers, seen,
             {"job_id": job_id, "record_id": "rec"})  # fmt: skip
        queued = httpx.post(f"{url}/api/v1/jobs", json={"fasta": ">q\nMKV\n"}, headers=headers).json()["id"]
        fuzz(operations[("POST", "/api/v1/jobs/{job_id}/cancel")], url, headers, seen, {"job_id": queued})
    assert seen.get(200, 0) > 0 and seen.get(422, 0) > 0, seen  # cancels done; references refused in one line
