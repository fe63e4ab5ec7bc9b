"""The skip policy of CI: where ``$CI`` is true, every skip that does not name CUDA is a failure.

A skipped test, or a test file skipped while it is collected (``importorskip`` of an absent extra),
fails when ``CI`` is set to ``true``, ``1`` or ``yes`` (CI services set ``CI=true``; so does
``.ci/run``), unless its reason contains ``CUDA``: the GPU tests cannot run on a CPU machine and keep
skipping with a reason that says so. An absent extra, data package or tool can so never hide a
feature in CI. Expected failures (``xfail``) are not skips and stay as they are. The hooks are
imported into ``tests/conftest.py``.
"""

from __future__ import annotations

import os

import pytest

CI_ALLOWED_SKIP = "CUDA"


def in_ci() -> bool:
    """Whether this run is CI's (``$CI`` set to true/1/yes, as CI services and ``.ci/run`` set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def skip_reason(report) -> str:
    """The reason of a skipped test or collection report (``longrepr`` is ``(path, line, "Skipped: ...")``)."""
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ")


def fail_a_ci_skip(report) -> None:
    """Turn a skipped report whose reason does not name CUDA into a failure, in CI only (xfail stays)."""
    if not (report.skipped and in_ci()) or hasattr(report, "wasxfail"):
        return
    reason = skip_reason(report)
    if CI_ALLOWED_SKIP not in reason:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where only skips that name {CI_ALLOWED_SKIP} are allowed: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    fail_a_ci_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    fail_a_ci_skip(outcome.get_result())
