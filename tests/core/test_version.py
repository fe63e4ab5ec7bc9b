"""remyfold's version comes from the installed distribution's metadata (one place: pyproject.toml)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import pytest

import remyfold
from remyfold._version import UNKNOWN_VERSION, __version__, installed_version


def test_version_is_the_installed_one():
    try:
        expected = version("remyfold")
    except PackageNotFoundError:
        pytest.skip("remyfold is not installed here")
    assert __version__ == remyfold.__version__ == expected


def test_a_distribution_that_is_not_installed_reports_the_fallback():
    assert installed_version("remyfold-no-such-distribution") == UNKNOWN_VERSION
