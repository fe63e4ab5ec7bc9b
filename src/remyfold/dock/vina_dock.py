"""One docking run: AutoDock Vina (Vina scoring function, Monte-Carlo search + BFGS) of a ligand in a box.

``dock_pdbqt`` runs the ``vina`` Python bindings on a prepared receptor and
ligand and returns the poses as RDKit molecules (rebuilt by Meeko from Vina's
PDBQT, bond orders kept) with their Vina scores in kcal/mol. Deterministic for
a given ``seed``: Vina runs on one CPU with that seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from remyfold.dock.box import Box
from remyfold.dock.errors import DockError
from remyfold.dock.extra import require


@dataclass(frozen=True)
class DockSettings:
    """Search settings: Vina's exhaustiveness, random seed, number of poses kept."""

    exhaustiveness: int = 8
    seed: int = 42
    poses: int = 9

    def __post_init__(self):
        if self.exhaustiveness < 1 or self.poses < 1:
            raise DockError("--exhaustiveness and --poses must be at least 1")


@dataclass(frozen=True)
class Pose:
    """A docked pose: rank (1 = best), Vina score (kcal/mol) and the molecule with hydrogens."""

    rank: int
    score: float
    mol: object


def dock_pdbqt(receptor_pdbqt: Path, ligand_pdbqt: str, box: Box, settings: DockSettings) -> list[Pose]:
    """Dock and return up to ``settings.poses`` poses, best first."""
    vina = require("vina")
    meeko = require("meeko")
    engine = vina.Vina(sf_name="vina", cpu=1, seed=settings.seed, verbosity=0)
    engine.set_receptor(rigid_pdbqt_filename=str(receptor_pdbqt))
    engine.set_ligand_from_string(ligand_pdbqt)
    engine.compute_vina_maps(center=list(box.centre), box_size=list(box.size))
    engine.dock(exhaustiveness=settings.exhaustiveness, n_poses=settings.poses)
    text = engine.poses(n_poses=settings.poses)
    energies = engine.energies(n_poses=settings.poses)
    molecule = meeko.PDBQTMolecule(text, is_dlg=False, skip_typing=True)
    mols = meeko.RDKitMolCreate.from_pdbqt_mol(molecule)
    if not mols or mols[0] is None:
        raise DockError("Meeko could not rebuild the docked poses as molecules")
    return _split_conformers(mols[0], [float(row[0]) for row in energies])


def _split_conformers(mol, scores: list[float]) -> list[Pose]:
    """One molecule per conformer (Meeko returns the poses as conformers of one molecule)."""
    Chem = require("rdkit.Chem")
    poses = []
    for rank, (conf, score) in enumerate(zip(mol.GetConformers(), scores), start=1):
        single = Chem.Mol(mol)
        single.RemoveAllConformers()
        single.AddConformer(Chem.Conformer(conf), assignId=True)
        poses.append(Pose(rank, score, single))
    return poses
