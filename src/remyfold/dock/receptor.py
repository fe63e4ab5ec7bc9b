"""Receptors: the protein of a structure file, cleaned for pocket finding and docking.

``load_receptor`` reads the protein through :func:`remyfold.io.protein_structure.read_protein`
(the reader ``compare`` uses: PDB/mmCIF, compressed, the pre-1996 layout,
CHARMM files without element columns or with segment ids; the first model's
amino-acid residues, waters, ligands, ions, nucleic acids, hydrogens and
alternative conformations removed) and records the per-residue pLDDT when the
file is a remyfold model (recognised from its metadata in PDB or mmCIF).
``receptor_pdbqt`` prepares the AutoDock receptor with Meeko's polymer
templates (hydrogens and Gasteiger charges added; residues missing heavy atoms
are left out, as Meeko's ``allow_bad_res`` does).
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from remyfold.dock.errors import DockError
from remyfold.dock.extra import require

# A residue key: (chain, sequence number, insertion code).
ResidueKey = tuple[str, int, str]


@dataclass(frozen=True)
class Receptor:
    """A protein ready for pocket finding and docking.

    ``coords`` ``[N, 3]`` heavy-atom positions; ``residues`` ``[N]`` the residue
    key of each atom; ``plddt`` maps residue keys to Cα pLDDT for remyfold models
    (``None`` for experimental structures).
    """

    name: str
    path: Path
    pdb: str
    coords: np.ndarray
    residues: tuple[ResidueKey, ...]
    residue_names: dict
    plddt: dict | None
    protein: object = None  # the ProteinStructure read (gemmi structure of the protein)

    def lining_residues(self, centre: np.ndarray, radius: float) -> list[ResidueKey]:
        """Residues with a heavy atom within ``radius`` Å of ``centre``, in file order."""
        near = np.linalg.norm(self.coords - np.asarray(centre), axis=1) <= radius
        return list(dict.fromkeys(r for r, hit in zip(self.residues, near) if hit))

    def mean_plddt(self, residues: list[ResidueKey]) -> float | None:
        """Mean Cα pLDDT over ``residues`` (``None`` for experimental structures or no residue)."""
        if self.plddt is None:
            return None
        values = [self.plddt[r] for r in residues if r in self.plddt]
        return float(np.mean(values)) if values else None


def load_receptor(path: str | Path, chains: tuple[str, ...] = ("",), name: str | None = None) -> Receptor:
    """Read ``path`` with :func:`remyfold.io.protein_structure.read_protein` and keep its protein
    (``chains``: ids or segment labels to keep; ``("",)`` keeps every chain)."""
    from remyfold.errors import InputError
    from remyfold.io.protein_structure import read_protein

    path = Path(path)
    try:
        protein = read_protein(path, tuple(c for c in chains if c))
    except InputError as err:
        raise DockError(f"receptor: {err}") from None
    coords, residues, names, plddt = _atoms(protein.structure[0])
    return Receptor(name or _stem(path), path, protein.pdb_text(), coords, tuple(residues), names,
                    plddt if protein.remyfold_model else None, protein)


def _atoms(model):
    """Heavy-atom coordinates, residue key per atom, residue names and Cα B-factors."""
    coords, residues, names, plddt = [], [], {}, {}
    for chain in model:
        for res in chain:
            key = (chain.name, res.seqid.num, res.seqid.icode.strip())
            names[key] = res.name
            for atom in res:
                coords.append((atom.pos.x, atom.pos.y, atom.pos.z))
                residues.append(key)
                if atom.name == "CA":
                    plddt[key] = float(atom.b_iso)
    return np.asarray(coords, dtype=float).reshape(-1, 3), residues, names, plddt


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".bz2", ".xz", ".pdb", ".ent", ".cif", ".mmcif", ".mcif"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def receptor_pdbqt(receptor: Receptor, max_dropped: int = 20) -> str:
    """The rigid receptor as PDBQT text, prepared by Meeko (its console chatter is captured).

    A residue Meeko cannot build (e.g. a distorted side chain), or a modified
    residue it has no template for (e.g. CSO; Meeko would try to download it),
    is left out and preparation retried, at most ``max_dropped`` times; the
    dropped residues are listed in the PDBQT's REMARK lines.
    """
    pdb, dropped = receptor.pdb, []
    while True:
        try:
            rigid = _meeko_rigid(pdb)
            break
        except Exception as err:  # Meeko raises plain RuntimeError / ValueError / PolymerCreationError
            message = next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)
            bad, unknown = _BAD_RESIDUE.search(str(err)), _NO_TEMPLATE.search(str(err))
            if (bad is None and unknown is None) or len(dropped) >= max_dropped:
                raise DockError(f"Meeko could not prepare receptor {receptor.path}: {message}") from None
            if bad is not None:
                dropped.append(bad.group(1))
                pdb = _drop_residue(pdb, *bad.group(1).split(":"))
            else:  # a modified residue (e.g. CSO) with no built-in template: Meeko would fetch it online
                dropped.append(f"every {unknown.group(1)} (no Meeko template)")
                pdb = _drop_resname(pdb, unknown.group(1))
    if not rigid.strip():
        raise DockError(f"Meeko matched no residue of receptor {receptor.path} to its templates")
    return "".join(f"REMARK   left out by Meeko: {key}\n" for key in dropped) + rigid


_BAD_RESIDUE = re.compile(r"key ([A-Za-z0-9]+:-?\d+[A-Za-z]?)")
_NO_TEMPLATE = re.compile(r"CIF file for ([A-Za-z0-9]{1,5})\b")


def _meeko_rigid(pdb: str) -> str:
    meeko = require("meeko")
    require("rdkit").RDLogger.DisableLog("rdApp.*")
    logging.getLogger("meeko").setLevel(logging.ERROR)
    chatter = io.StringIO()
    with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
        templates = meeko.ResidueChemTemplates.create_from_defaults()
        polymer = meeko.Polymer.from_pdb_string(pdb, templates, meeko.MoleculePreparation(), allow_bad_res=True)
        rigid, _flexible = meeko.PDBQTWriterLegacy.write_from_polymer(polymer)
    return rigid


def _drop_resname(pdb: str, resname: str) -> str:
    """PDB text without the ATOM/HETATM records of every residue named ``resname``."""
    return "\n".join(
        line for line in pdb.splitlines()
        if not (line.startswith(("ATOM", "HETATM")) and line[17:20].strip() == resname)
    ) + "\n"


def _drop_residue(pdb: str, chain: str, number: str) -> str:
    """PDB text without the ATOM records of residue ``chain:number`` (number may end in an insertion code)."""
    seq, icode = (number[:-1], number[-1]) if number[-1].isalpha() else (number, " ")
    return "\n".join(
        line for line in pdb.splitlines()
        if not (line.startswith(("ATOM", "HETATM")) and line[21] == chain
                and line[22:26].strip() == seq and line[26] == icode)
    ) + "\n"
