"""Docked poses made physically plausible and checked: hydrogen relaxation, then PoseBusters' tests.

``relax_hydrogens(mol)``: Vina moves heavy atoms and polar hydrogens as rigid
torsion trees, so hydroxyl or amine hydrogens can end up touching (H–H
contacts near 1.1 Å), which fails PoseBusters' internal-energy test although
the heavy-atom pose is fine. The hydrogens alone are minimised with MMFF94
(UFF where MMFF lacks parameters), every heavy atom held fixed, so the pose
Vina scored keeps its heavy-atom coordinates exactly.

``check_poses(poses, protein_pdb)``: PoseBusters (Buttenschoen et al., Chem.
Sci. 2024) ``dock`` configuration on each pose against the receptor's protein:
chemistry (sanitisation, valid bonds and geometry, internal energy) and
protein–ligand contacts (no clash, no volume overlap). Each pose gets
``passed`` (every test true) and the names of the tests it failed.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from remyfold.dock.extra import require

RELAX_ITERATIONS = 500


def relax_hydrogens(mol):
    """A copy of ``mol`` (hydrogens explicit, one conformer) with only its hydrogens minimised."""
    Chem = require("rdkit.Chem")
    AllChem = require("rdkit.Chem.AllChem")
    relaxed = Chem.Mol(mol)
    try:
        Chem.SanitizeMol(relaxed)
    except Exception:  # noqa: BLE001 - RDKit raises several types; such a pose is left as it is
        return relaxed
    props = AllChem.MMFFGetMoleculeProperties(relaxed)
    field = (AllChem.MMFFGetMoleculeForceField(relaxed, props) if props is not None
             else AllChem.UFFGetMoleculeForceField(relaxed))
    if field is None:
        return relaxed
    for atom in relaxed.GetAtoms():
        if atom.GetAtomicNum() > 1:
            field.AddFixedPoint(atom.GetIdx())
    field.Initialize()
    field.Minimize(maxIts=RELAX_ITERATIONS)
    return relaxed


def min_hh_distance(mol) -> float:
    """The shortest distance (Å) between two hydrogens not bonded to the same atom (``inf`` if none)."""
    import numpy as np

    positions = mol.GetConformer().GetPositions()
    hydrogens = [a for a in mol.GetAtoms() if a.GetAtomicNum() == 1]
    best = float("inf")
    for i, first in enumerate(hydrogens):
        parent = first.GetNeighbors()[0].GetIdx() if first.GetDegree() else -1
        for second in hydrogens[i + 1:]:
            if second.GetDegree() and second.GetNeighbors()[0].GetIdx() == parent:
                continue
            best = min(best, float(np.linalg.norm(positions[first.GetIdx()] - positions[second.GetIdx()])))
    return best


def check_poses(mols: list, protein_pdb: str) -> list[dict]:
    """PoseBusters' ``dock`` tests of each pose against the protein: ``{"passed", "failed"}`` per pose."""
    import numpy as np

    posebusters = require("posebusters")
    rdkit = require("rdkit")
    handler = getattr(rdkit, "log_handler", None)
    stream = getattr(handler, "stream", None)
    if getattr(stream, "closed", False):  # a stream closed since RDKit was imported (e.g. a captured stderr)
        stream = sys.stderr
        handler.setStream(stream)
    try:
        with tempfile.TemporaryDirectory(prefix="remyfold-posebusters-") as scratch:
            protein = Path(scratch) / "protein.pdb"
            protein.write_text(protein_pdb)
            table = posebusters.PoseBusters(config="dock", max_workers=0).bust(list(mols), None, str(protein))
    finally:
        if stream is not None:  # PoseBusters points RDKit's log at whatever sys.stderr is when it finishes
            handler.setStream(stream)
    results = []
    for _index, row in table.iterrows():
        failed = [str(name) for name, value in row.items() if value is False or value is np.False_]
        results.append({"passed": not failed, "failed": failed})
    return results
