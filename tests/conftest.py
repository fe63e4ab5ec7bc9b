"""Shared fixtures: a tiny random reference model (transformers, the test oracle) saved to disk.

And the skip policy of CI (:mod:`ci_skip_policy`): where ``$CI`` is true, a skip that does not
name CUDA fails.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
# tests/ mirrors src/remyfold/ (one folder per subject); helpers live in tests/support/. Both keep their bare
# module names from any test file: `from tiny_models import ...`, and the test modules that others import
# (`from test_report_browser import ...`). tests/serve/ has its own conftest, so it is not added here.
sys.path.insert(0, str(TESTS / "support"))
sys.path.extend(str(d) for d in sorted(TESTS.iterdir()) if d.is_dir() and d.name not in ("support", "data", "serve"))

from ci_skip_policy import pytest_make_collect_report, pytest_runtest_makereport  # noqa: E402, F401


@pytest.fixture(scope="session")
def tiny_reference():
    """A tiny random ``transformers.EsmForProteinFolding`` (fp32, eval)."""
    pytest.importorskip("transformers")
    from tiny_models import make_reference  # imports torch: only where a test needs the model

    return make_reference(seed=0)


@pytest.fixture(scope="session")
def tiny_weights_dir(tiny_reference, tmp_path_factory) -> Path:
    """``tiny_reference`` saved with ``save_pretrained`` (config.json + model.safetensors)."""
    from tiny_models import save_reference

    return save_reference(tiny_reference, tmp_path_factory.mktemp("tiny_esmfold"))


@pytest.fixture(scope="session")
def data() -> Path:
    """MDAnalysisTests/data: real PDB/mmCIF structures from the ``mdanalysistests`` package."""
    spec = importlib.util.find_spec("MDAnalysisTests")
    if spec is None:
        pytest.skip("mdanalysistests is not installed (pip install mdanalysistests)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"
