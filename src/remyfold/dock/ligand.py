"""Ligands: a catalog drug name, a SMILES or an SDF file, turned into a 3D molecule and Vina's PDBQT.

Resolution order for a ``--ligand`` value: an existing ``.sdf`` file (its
first molecule), a drug name of the catalog (case-insensitive), else a SMILES.
A SMILES of several fragments (a salt) keeps its largest fragment. 3D
coordinates come from RDKit's ETKDGv3 embedding (seeded) and an MMFF94
minimisation; Meeko writes the PDBQT (atom types, Gasteiger charges, rotatable
bonds). Nothing of a crystal conformation is used: every SMILES starts fresh.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from remyfold.dock.errors import DockError
from remyfold.dock.extra import require
from remyfold.errors import first_line

_NAME = re.compile(r"^[A-Za-z][a-z][A-Za-z0-9 \-]*$")


@dataclass(frozen=True)
class LigandSpec:
    """A ligand to dock: a file-safe ``name`` and its SMILES or SDF path."""

    name: str
    smiles: str | None = None
    sdf: Path | None = None


def resolve_ligand(value: str) -> LigandSpec:
    """Turn a ``--ligand`` value into a :class:`LigandSpec` (DockError for an unknown name or bad SMILES)."""
    from remyfold.targets.catalog import load_catalog

    path = Path(value)
    if value.lower().endswith(".sdf"):
        if not path.is_file():
            raise DockError(f"ligand file {value} does not exist")
        return LigandSpec(_safe(path.stem), sdf=path)
    drug = load_catalog().drug(value)
    if drug is not None:
        return LigandSpec(drug.name, smiles=drug.smiles)
    Chem = require("rdkit.Chem")
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(value)
    if mol is None or mol.GetNumAtoms() == 0:
        if _NAME.match(value):
            known = ", ".join(d.name for d in load_catalog().drugs)
            raise DockError(f"unknown drug name {value!r}; known names: {known}; or give a SMILES or an .sdf file")
        raise DockError(f"cannot parse SMILES {value!r}; check it or give an .sdf file")
    return LigandSpec(f"lig_{Chem.MolToInchiKey(mol)[:14]}", smiles=value)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text) or "ligand"


def ligand_3d(spec: LigandSpec, seed: int):
    """An RDKit molecule with hydrogens and one 3D conformer (ETKDGv3 + MMFF94, seeded)."""
    Chem = require("rdkit.Chem")
    AllChem = require("rdkit.Chem.AllChem")
    rdMolStandardize = require("rdkit.Chem.MolStandardize.rdMolStandardize")
    if spec.sdf is not None:
        mol = next(iter(Chem.SDMolSupplier(str(spec.sdf), removeHs=False)), None)
        if mol is None:
            raise DockError(f"no readable molecule in {spec.sdf}")
        if mol.GetNumConformers() and mol.GetConformer().Is3D():
            return Chem.AddHs(mol, addCoords=True)
    else:
        mol = Chem.MolFromSmiles(spec.smiles)
    mol = rdMolStandardize.LargestFragmentChooser().choose(mol)
    mol = Chem.AddHs(mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed) & 0x7FFFFFFF
    if AllChem.EmbedMolecule(mol, params) != 0:
        raise DockError(f"RDKit could not build 3D coordinates for ligand {spec.name}")
    if AllChem.MMFFHasAllMoleculeParams(mol):
        AllChem.MMFFOptimizeMolecule(mol, maxIters=2000)
    return mol


def ligand_pdbqt(mol, name: str) -> str:
    """Meeko's PDBQT text of ``mol`` (which must carry explicit hydrogens and 3D coordinates)."""
    meeko = require("meeko")
    try:
        setups = meeko.MoleculePreparation().prepare(mol)
        text, ok, message = meeko.PDBQTWriterLegacy.write_string(setups[0])
    except Exception as err:
        raise DockError(f"Meeko could not prepare ligand {name}: {first_line(err)}") from None
    if not ok:
        raise DockError(f"Meeko could not prepare ligand {name}: {message.strip()}")
    return text


def ligand_extent(mol) -> float:
    """The largest heavy-atom distance (Å) of the molecule's conformer: what a box must hold."""
    pos = mol.GetConformer().GetPositions()
    heavy = pos[[a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() > 1]]
    if len(heavy) < 2:
        return 0.0
    diff = heavy[:, None, :] - heavy[None, :, :]  # [n, n, 3] pairwise differences
    return float(np.sqrt((diff**2).sum(-1)).max())
