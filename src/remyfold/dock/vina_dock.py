"""Docking runs: AutoDock Vina (Vina scoring function, Monte-Carlo search + BFGS) of a ligand in a box.

``dock_pdbqt`` runs the ``vina`` Python bindings on a prepared receptor and
ligand and returns the poses as RDKit molecules (rebuilt by Meeko from Vina's
PDBQT, bond orders kept) with their Vina scores in kcal/mol.

Search defaults follow the PoseBusters benchmark protocol: exhaustiveness 32,
on every available core (Vina's ``cpu``). ``searches`` independent runs (seeds
``seed``, ``seed + 1``, ...) are pooled: poses are ranked by score, a pose
within 1 Å RMSD of a better one is dropped, and the run reports whether the
searches' top poses agree (heavy-atom RMSD between them at most 2 Å). Each run
is deterministic for its seed, whatever the number of cores (Vina seeds each
Monte-Carlo chain from the run's seed).

The top pose is *clear* when no other pose is its rival: a pose that scores within
:data:`RIVAL_KCAL` of it and lies farther than 2 Å from it (:func:`rival_ranks`), i.e. a
different binding mode that Vina's score cannot tell apart from the top one. In the redocking
benchmark's site-given runs every top pose more than 2 Å off had such a rival
(``bench/dock/pose_rescoring.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from remyfold.dock.box import Box
from remyfold.dock.errors import DockError
from remyfold.dock.extra import require

AGREEMENT_RMSD = 2.0  # Å: top poses of independent searches farther apart than this disagree
DUPLICATE_RMSD = 1.0  # Å: a pooled pose this close to a better one is the same pose
#: kcal/mol: a pose this close in score to the top pose, and farther than AGREEMENT_RMSD from it, is a
#: rival. Chosen on the redocking runs of seed 142 (site given: all 4 wrong top poses had one, 3 of 8
#: right ones; at 0.5 kcal/mol 5 of 8 right ones did); on seed 242 all 5 wrong top poses had one and
#: the 3 without one were right (bench/results/redock-rescoring.md).
RIVAL_KCAL = 0.3
#: How the poses found may be ranked (``--ranking``): Vina's score, or AutoDock4's (:mod:`remyfold.dock.ad4_ranking`).
RANKINGS = ("vina", "ad4")


@dataclass(frozen=True)
class DockSettings:
    """Search settings: exhaustiveness, first random seed, poses kept, independent searches, cores (0 = all),
    and how the poses found are ranked (``"vina"``, or ``"ad4"``: :mod:`remyfold.dock.ad4_ranking`)."""

    exhaustiveness: int = 32
    seed: int = 42
    poses: int = 9
    searches: int = 2
    cpu: int = 0
    ranking: str = "vina"

    def __post_init__(self):
        if self.exhaustiveness < 1 or self.poses < 1 or self.searches < 1 or self.cpu < 0:
            raise DockError("--exhaustiveness, --poses and --searches must be at least 1")
        if self.ranking not in RANKINGS:
            raise DockError(f"--ranking {self.ranking!r}: give vina (Vina's score, the default) or ad4 "
                            "(AutoDock4's score; needs autogrid4)")

    def cores(self) -> int:
        """Cores Vina uses: ``cpu``, or every core this process may run on."""
        if self.cpu:
            return self.cpu
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

    def as_dict(self) -> dict:
        """What the record stores (cores are left out: they do not change the result)."""
        return {"exhaustiveness": self.exhaustiveness, "seed": self.seed, "poses": self.poses,
                "searches": self.searches, "seeds": [self.seed + k for k in range(self.searches)],
                "ranking": self.ranking}


@dataclass(frozen=True)
class Pose:
    """A docked pose: rank (1 = best), Vina score (kcal/mol), the molecule with hydrogens, the search's seed,
    and the rank of the pocket it was docked in (``None``: a given box or site). Ranked by AutoDock4
    (:mod:`remyfold.dock.ad4_ranking`): its AutoDock4 score and its rank by Vina's score."""

    rank: int
    score: float
    mol: object
    seed: int = 0
    pocket: int | None = None
    ad4: float | None = None
    vina_rank: int | None = None


@dataclass(frozen=True)
class DockResult:
    """Pooled poses (best first) and the heavy-atom RMSD (Å) between each search's top pose and the first's."""

    poses: list
    top_rmsd: tuple[float, ...]

    @property
    def searches_agree(self) -> bool:
        return all(value <= AGREEMENT_RMSD for value in self.top_rmsd)

    def as_dict(self) -> dict:
        return {"top_pose_rmsd_to_first_search": [round(v, 3) for v in self.top_rmsd],
                "agree": self.searches_agree, "agreement_rmsd": AGREEMENT_RMSD}


def dock_pdbqt(receptor_pdbqt: Path, ligand_pdbqt: str, box: Box, settings: DockSettings) -> DockResult:
    """Run ``settings.searches`` searches and pool them (see the module docstring)."""
    from remyfold.dock.redock import heavy_atom_rmsd

    runs = [_search(receptor_pdbqt, ligand_pdbqt, box, settings, settings.seed + k) for k in range(settings.searches)]
    top_rmsd = tuple(heavy_atom_rmsd(run[0].mol, runs[0][0].mol) for run in runs[1:])
    return DockResult(pool_poses([p for run in runs for p in run], settings.poses), top_rmsd)


def pool_poses(poses: list[Pose], keep: int) -> list[Pose]:
    """The ``keep`` best poses by score, re-ranked from 1; a pose within 1 Å RMSD of a better one is dropped."""
    from dataclasses import replace

    from remyfold.dock.redock import heavy_atom_rmsd

    pooled: list[Pose] = []
    for pose in sorted(poses, key=lambda p: p.score):
        if len(pooled) < keep and all(heavy_atom_rmsd(pose.mol, kept.mol) > DUPLICATE_RMSD for kept in pooled):
            pooled.append(pose)
    return [replace(p, rank=rank) for rank, p in enumerate(pooled, start=1)]


def rival_ranks(poses: list[Pose], margin: float = RIVAL_KCAL) -> list[int]:
    """Ranks of the poses that score within ``margin`` kcal/mol of the top pose and lie farther than
    :data:`AGREEMENT_RMSD` from it (heavy atoms, symmetry-aware): other binding modes the score does
    not separate from the top one. Empty: the top pose is clear."""
    from remyfold.dock.redock import heavy_atom_rmsd

    if not poses:
        return []
    top = min(poses, key=lambda p: p.rank)
    return [p.rank for p in sorted(poses, key=lambda p: p.rank) if p is not top and p.score - top.score <= margin
            and heavy_atom_rmsd(p.mol, top.mol) > AGREEMENT_RMSD]  # fmt: skip


def _search(receptor_pdbqt: Path, ligand_pdbqt: str, box: Box, settings: DockSettings, seed: int) -> list[Pose]:
    """One Vina search with ``seed``: up to ``settings.poses`` poses, best first."""
    vina = require("vina")
    meeko = require("meeko")
    engine = vina.Vina(sf_name="vina", cpu=settings.cores(), seed=seed, verbosity=0)
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
    return _split_conformers(mols[0], [float(row[0]) for row in energies], seed)


def _split_conformers(mol, scores: list[float], seed: int) -> list[Pose]:
    """One molecule per conformer (Meeko returns the poses as conformers of one molecule)."""
    Chem = require("rdkit.Chem")
    poses = []
    for rank, (conf, score) in enumerate(zip(mol.GetConformers(), scores), start=1):
        single = Chem.Mol(mol)
        single.RemoveAllConformers()
        single.AddConformer(Chem.Conformer(conf), assignId=True)
        poses.append(Pose(rank, score, single, seed))
    return poses
