"""Fixtures shared by the docking tests."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import gemmi
import pytest


@pytest.fixture(scope="module")
def pr_lbd(tmp_path_factory) -> Path:
    """1A28 chain A (progesterone receptor ligand-binding domain with its progesterone, STR 1) as plain PDB."""
    data = Path(next(iter(find_spec("MDAnalysisTests").submodule_search_locations))) / "data"
    st = gemmi.read_structure(str(data / "1a28.pdb.gz"))
    st[0].remove_chain("B")
    path = tmp_path_factory.mktemp("pr") / "1a28_A.pdb"
    path.write_text(st.make_pdb_string())
    return path
