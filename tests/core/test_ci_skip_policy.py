"""The CI skip policy (tests/support/ci_skip_policy.py) on a throw-away test folder run by ``pytester``."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

HERE = Path(__file__).resolve().parents[1] / "support"  # where ci_skip_policy lives

PROBE = """
import pytest

def test_plain_skip():
    pytest.skip("tool X is not installed")

def test_cuda_skip():
    pytest.skip("needs a CUDA GPU")

@pytest.mark.skipif(True, reason="needs a CUDA GPU")
def test_cuda_mark():
    pass

@pytest.mark.skipif(True, reason="glibc only")
def test_other_mark():
    pass

@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert False

def test_ok():
    pass
"""
MISSING_EXTRA = 'import pytest\npytest.importorskip("no_such_module_for_remyfold")\n\ndef test_x():\n    pass\n'


@pytest.fixture
def probe(pytester):
    pytester.makeconftest(f"import sys\nsys.path.insert(0, {str(HERE)!r})\nfrom ci_skip_policy import *\n")
    pytester.makepyfile(test_probe=PROBE)
    return pytester


@pytest.mark.parametrize("value", ["", "false", "0"])
def test_outside_ci_skips_stay_skips(probe, monkeypatch, value):
    monkeypatch.setenv("CI", value)
    probe.runpytest("-p", "no:randomly").assert_outcomes(passed=1, skipped=4, xfailed=1)


@pytest.mark.parametrize("value", ["true", "1", "TRUE", "yes"])
def test_in_ci_only_cuda_skips_stay_skips(probe, monkeypatch, value):
    monkeypatch.setenv("CI", value)
    result = probe.runpytest("-p", "no:randomly", "-rfs")
    # A skip in the test fails it; a skip mark acts in the set-up, which then is an error.
    result.assert_outcomes(passed=1, skipped=2, failed=1, errors=1, xfailed=1)
    result.stdout.fnmatch_lines(["*test_plain_skip*only skips that name CUDA are allowed: tool X is not installed*"])


def test_in_ci_a_skipped_test_file_is_an_error(probe, monkeypatch):
    probe.makepyfile(test_extra=MISSING_EXTRA)
    monkeypatch.setenv("CI", "true")
    result = probe.runpytest("-p", "no:randomly")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*ERROR*test_extra.py*no_such_module_for_remyfold*"])
    monkeypatch.setenv("CI", "")
    probe.runpytest("-p", "no:randomly").assert_outcomes(passed=1, skipped=5, xfailed=1)
