"""Receptors: the protein of a structure file, cleaned for pocket finding and docking.

``load_receptor`` reads the protein through :func:`remyfold.io.protein_structure.read_protein`
(the reader ``compare`` uses: PDB/mmCIF, compressed, the pre-1996 layout,
CHARMM files without element columns or with segment ids; the first model's
amino-acid residues, waters, ligands, ions, nucleic acids, hydrogens and
alternative conformations removed) and records the per-residue pLDDT when the
file is a remyfold model (recognised from its metadata in PDB or mmCIF).
The AutoDock receptor is prepared from it by
:func:`remyfold.dock.receptor_prep.prepare_receptor` (PDBFixer/OpenMM, then Meeko).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from remyfold.dock.errors import DockError

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
