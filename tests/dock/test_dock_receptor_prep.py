"""Receptor preparation keeps going past a residue Meeko cannot build, and says so (issue 19: none dropped silently).

Real structure: 1OF6 from posebusters' bundled examples, whose Lys A:93 side chain folds back onto
its own backbone (NZ 1.8 Å from CA), which Meeko cannot build as a molecule.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import gemmi
import pytest

pytest.importorskip("meeko")
pytest.importorskip("posebusters")

from remyfold.dock.receptor import load_receptor  # noqa: E402
from remyfold.dock.receptor_prep import _without_residue, receptor_pdbqt  # noqa: E402


def test_unbuildable_residue_is_excluded_and_listed(tmp_path):
    folder = Path(next(iter(find_spec("posebusters").submodule_search_locations))) / "datasets" / "pdb" / "1of6"
    st = gemmi.read_structure(str(folder / "1of6_protein_one_lig_removed.pdb"))
    centre = next(a.pos for r in st[0]["A"] if r.seqid.num == 93 for a in r if a.name == "CA")
    for chain in st[0]:  # the residues around Lys A:93: a quick preparation
        for index in reversed(range(len(chain))):
            if all(a.pos.dist(centre) > 10.0 for a in chain[index]):
                del chain[index]
    st.remove_empty_chains()
    path = tmp_path / "around_lys93.pdb"
    path.write_text(st.make_pdb_string())
    prepared = receptor_pdbqt(load_receptor(path))
    # (cutting the structure can leave other fragment residues untemplated; the full 1OF6 loses Lys A:93 only)
    assert "A:LYS93" in prepared.excluded and ("A", 93, "") in prepared.excluded_keys
    for label in prepared.excluded:
        assert f"REMARK   excluded by Meeko (no template match, or not buildable): {label}" in prepared.pdbqt.splitlines()
    assert prepared.pdbqt.count("ATOM") > 50  # the rest of the receptor is there


def test_without_residue_removes_only_that_residue():
    pdb = ("ATOM      1  N   LYS A  93      19.408 -19.511  29.850  1.00  0.00           N\n"
           "ATOM      2  N   LYS A 930      19.408 -19.511  29.850  1.00  0.00           N\n"
           "ATOM      3  N   GLY B  93      19.408 -19.511  29.850  1.00  0.00           N\n"
           "ATOM      4  N   GLY A  93A     19.408 -19.511  29.850  1.00  0.00           N\nTER\n")
    kept = _without_residue(pdb, "A:93").splitlines()
    assert [line[6:11].strip() for line in kept if line.startswith("ATOM")] == ["2", "3", "4"] and kept[-1] == "TER"
