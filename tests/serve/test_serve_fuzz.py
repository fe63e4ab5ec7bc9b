"""Property-based fuzzing of the OpenAPI description (schemathesis): no request gets a 5xx answer.

Runs against ``queue_server`` (a real uvicorn, no worker: jobs stay queued, small limits) with
a bounded, derandomized number of examples per operation, so it is quick and repeatable.
Schemathesis' strategies are driven by Hypothesis directly (its pytest plugin needs the schema
at import time, before the server exists).
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402

EXAMPLES_PER_OPERATION = 30


def test_no_server_errors(queue_server):
    headers = {"Authorization": f"Bearer {queue_server.tokens['fuzz']}"}
    schema = schemathesis.openapi.from_url(f"{queue_server.url}/openapi.json", headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    seen = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def no_5xx(case):
            response = case.call(base_url=queue_server.url, headers=headers)
            label = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, f"{label}: {response.status_code} {response.text[:300]}"
            if response.status_code >= 400:
                assert "detail" in response.json(), label
            seen[response.status_code] = seen.get(response.status_code, 0) + 1

        no_5xx()
    assert seen.get(200, 0) + seen.get(201, 0) > 0 and sum(seen.values()) >= 5 * len(operations)
