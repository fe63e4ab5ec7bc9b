"""Ligands: a catalog drug name, a SMILES (optionally ``NAME=SMILES``) or an SDF file, turned into 3D and PDBQT.

Resolution of a ``--ligand`` value (:func:`resolve_ligands`): a value ending in ``.sdf`` is a
file, and **every** molecule in it is a ligand (``<stem>`` for one, ``<stem>_1``, ``<stem>_2``,
... for several); a drug name of the catalog (case-insensitive); a SMILES; else ``NAME=SMILES``,
a SMILES docked under ``NAME``. Each molecule is screened (:mod:`remyfold.dock.ligand_screen`):
a salt keeps its largest fragment and the dropped ones are listed in ``LigandSpec.dropped``;
metal complexes, ions only and molecules beyond Vina's size limits are refused before any
docking. Each ligand is ionised at the receptor's pH (``--ph``; :mod:`remyfold.dock.ionisation`)
unless ``--ligand-charges as-given``. 3D coordinates come from RDKit's ETKDGv3 embedding (seeded)
and an MMFF94 minimisation (an SDF record's own 3D heavy-atom coordinates are kept, its
hydrogens placed again after ionisation); Meeko writes the PDBQT (atom types,
Gasteiger charges, rotatable bonds). Amide bonds are rigid (Meeko's default) and so are the
C(=O)-O bonds of esters and carbamates: conjugated like amides, they sit in the planar Z form
the embedding gives, where Vina's torsion search, blind to conjugation, could leave them eclipsed
(a carbamate turned that way is an internal clash by PoseBusters' bounds). Nothing of a crystal
conformation is used for a SMILES.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from remyfold.dock.errors import DockError
from remyfold.dock.extra import require
from remyfold.dock.ionisation import ionise
from remyfold.dock.ligand_screen import screen
from remyfold.errors import first_line

_NAME = re.compile(r"^[A-Za-z][a-z][A-Za-z0-9 \-]*$")
_GIVEN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
# Ester and carbamate C(=O)-O bonds, kept rigid: the SMARTS and its bond's atoms (0-based).
ESTER_SMARTS, ESTER_BOND = "[CX3](=O)[OX2][#6]", (0, 2)


@dataclass(frozen=True)
class LigandSpec:
    """A ligand to dock: a file-safe ``name``, its SMILES or SDF path (``sdf_index``: which record).

    ``dropped``: SMILES of the fragments (counter-ions, solvent) removed from the given molecule.
    """

    name: str
    smiles: str | None = None
    sdf: Path | None = None
    sdf_index: int = 0
    dropped: tuple[str, ...] = ()


def resolve_ligand(value: str) -> LigandSpec:
    """The one ligand of ``value`` (DockError for an SDF file of several molecules); see :func:`resolve_ligands`."""
    specs = resolve_ligands(value)
    if len(specs) != 1:
        raise DockError(f"ligand file {value} holds {len(specs)} molecules; give one")
    return specs[0]


def resolve_ligands(value: str) -> tuple[LigandSpec, ...]:
    """The ligands of a ``--ligand`` value, screened (DockError for an unknown name, bad SMILES or SDF)."""
    from remyfold.targets.catalog import load_catalog

    if value.lower().endswith(".sdf"):
        return _sdf_ligands(Path(value))
    drug = load_catalog().drug(value)
    if drug is not None:
        return (_smiles_ligand(drug.name, drug.smiles, _parse_smiles(drug.smiles)),)
    mol = _parse_smiles(value)
    if mol is not None:
        return (_smiles_ligand(None, value, mol),)
    name, sep, smiles = value.partition("=")
    if sep and _GIVEN_NAME.match(name) and (mol := _parse_smiles(smiles)) is not None:
        return (_smiles_ligand(name, smiles, mol),)
    if "," in value:
        raise DockError(f"cannot parse ligand {value!r}; give several ligands as separate values "
                        "(--ligand metformin clemastine)")  # fmt: skip
    if _NAME.match(value):
        known = ", ".join(d.name for d in load_catalog().drugs)
        raise DockError(f"unknown drug name {value!r}; known names: {known}; or give a SMILES, NAME=SMILES "
                        "or an .sdf file")  # fmt: skip
    raise DockError(f"cannot parse SMILES {value!r}; check it, or give NAME=SMILES or an .sdf file")


def _parse_smiles(text: str):
    """An RDKit molecule, or None when ``text`` is not a SMILES of at least one atom."""
    Chem = require("rdkit.Chem")
    _quiet_rdkit()
    mol = Chem.MolFromSmiles(text) if text.strip() else None
    return mol if mol is not None and mol.GetNumAtoms() else None


def _quiet_rdkit() -> None:
    """RDKit's parse messages would break the one-line errors; the refusals say what is wrong."""
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")


def _smiles_ligand(name: str | None, smiles: str, mol) -> LigandSpec:
    """A screened SMILES ligand; unnamed ones are ``lig_<InChIKey prefix>`` of the fragment docked."""
    Chem = require("rdkit.Chem")
    screened = screen(mol, name or (smiles if len(smiles) <= 40 else f"{smiles[:37]}..."))
    kept = smiles if not screened.dropped else Chem.MolToSmiles(screened.mol)
    name = name or f"lig_{Chem.MolToInchiKey(screened.mol)[:14]}"
    return LigandSpec(_safe(name), smiles=kept, dropped=screened.dropped)


def _sdf_ligands(path: Path) -> tuple[LigandSpec, ...]:
    """One screened ligand per record of ``path``; an empty or unreadable file is refused."""
    mols = _read_sdf(path)
    stem = _safe(path.stem)
    names = [stem] if len(mols) == 1 else [f"{stem}_{i}" for i in range(1, len(mols) + 1)]
    return tuple(LigandSpec(name, sdf=path, sdf_index=i, dropped=screen(mol, f"{name} ({path})").dropped)
                 for i, (name, mol) in enumerate(zip(names, mols)))  # fmt: skip


def _read_sdf(path: Path) -> list:
    """Every molecule of an SDF file (hydrogens kept); DockError naming the first unreadable record."""
    Chem = require("rdkit.Chem")
    if path.is_dir():
        raise DockError(f"ligand file {path} is a folder; give an .sdf file")
    if not path.is_file():
        raise DockError(f"ligand file {path} does not exist")
    if path.stat().st_size == 0:
        raise DockError(f"ligand file {path} is empty; give an .sdf file with at least one molecule")
    _quiet_rdkit()
    try:  # the forward reader yields None for a bad record; SDMolSupplier's iterator can skip a trailing one
        with path.open("rb") as handle:
            mols = list(Chem.ForwardSDMolSupplier(handle, removeHs=False))
    except OSError as err:
        raise DockError(f"cannot read ligand file {path} ({first_line(err)}); give an .sdf file") from None
    if not mols:
        raise DockError(f"ligand file {path} holds no molecule; give an .sdf file with at least one record")
    bad = [str(i) for i, mol in enumerate(mols, 1) if mol is None or mol.GetNumAtoms() == 0]
    if bad:
        raise DockError(f"ligand file {path}: record(s) {', '.join(bad)} of {len(mols)} cannot be read by "
                        "RDKit; fix or remove them")  # fmt: skip
    return mols


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text) or "ligand"


def ligand_3d(spec: LigandSpec, seed: int, ph: float | None = None):
    """An RDKit molecule with hydrogens and one 3D conformer (an SDF record's own, or ETKDGv3 + MMFF94, seeded).

    ``ph``: the molecule is first ionised at that pH (:func:`ligand_ionisation`); ``None``: its charges as given.
    """
    Chem = require("rdkit.Chem")
    AllChem = require("rdkit.Chem.AllChem")
    mol = _as_given(spec)
    if ph is not None:
        mol = ionise(mol, ph).mol
    if mol.GetNumConformers() and mol.GetConformer().Is3D():
        return Chem.AddHs(mol, addCoords=True)
    mol = Chem.AddHs(mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed) & 0x7FFFFFFF
    if AllChem.EmbedMolecule(mol, params) != 0:
        raise DockError(f"RDKit could not build 3D coordinates for ligand {spec.name}")
    if AllChem.MMFFHasAllMoleculeParams(mol):
        AllChem.MMFFOptimizeMolecule(mol, maxIters=2000)
    return mol


def _as_given(spec: LigandSpec):
    """The ligand's molecule as given: the SDF record (screened, its coordinates kept) or the SMILES' largest fragment."""
    Chem = require("rdkit.Chem")
    rdMolStandardize = require("rdkit.Chem.MolStandardize.rdMolStandardize")
    if spec.sdf is not None:
        mol = screen(_read_sdf(spec.sdf)[spec.sdf_index], spec.name).mol
        if mol.GetNumConformers() and mol.GetConformer().Is3D():
            return mol
        mol = Chem.RemoveHs(mol)
        mol.RemoveAllConformers()
        return mol
    return rdMolStandardize.LargestFragmentChooser().choose(Chem.MolFromSmiles(spec.smiles))


def ligand_ionisation(spec: LigandSpec, ph: float | None) -> dict:
    """What the record says of the ligand's charges: ionised at ``ph`` (the SMILES docked, the groups changed,
    those left as given for a pKa within a unit of the pH; :mod:`remyfold.dock.ionisation`), or as given."""
    if ph is None:
        return {"charges": "as-given"}
    return ionise(_as_given(spec), ph).as_dict(ph)


def ligand_pdbqt(mol, name: str, rigid_macrocycles: bool = False) -> str:
    """Meeko's PDBQT text of ``mol`` (which must carry explicit hydrogens and 3D coordinates).

    Macrocycles are opened for Vina's search (glue atoms CG0/G0 close them again) unless
    ``rigid_macrocycles``: scoring functions without glue-atom maps (AutoDock4's) need them rigid.
    """
    meeko = require("meeko")
    try:
        prep = meeko.MoleculePreparation(rigidify_bonds_smarts=[ESTER_SMARTS], rigidify_bonds_indices=[ESTER_BOND],
                                         rigid_macrocycles=rigid_macrocycles)  # fmt: skip
        setups = prep.prepare(mol)
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
