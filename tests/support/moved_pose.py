"""A docked pose's copy moved along x: poses a known distance apart for the rival and ranking tests."""

from __future__ import annotations


def moved(mol, shift: float):
    """A copy of ``mol`` (RDKit, one conformer) translated by ``shift`` Å along x."""
    from rdkit import Chem
    from rdkit.Geometry import Point3D

    copy = Chem.Mol(mol)
    conf = copy.GetConformer()
    for i in range(copy.GetNumAtoms()):
        p = conf.GetAtomPosition(i)
        conf.SetAtomPosition(i, Point3D(p.x + shift, p.y, p.z))
    return copy
