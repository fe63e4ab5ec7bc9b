"""What Vina can dock: one organic molecule of bounded size. Checked before any docking starts.

:func:`screen` takes an RDKit molecule (from a SMILES or an SDF record) and returns the
fragment to dock, or refuses in one line:

- **Fragments** (salts, solvates): the largest fragment by heavy atoms is kept and every
  dropped fragment is listed (``dropped``), so the caller can say what was removed. A value of
  ions and single atoms only (``[Na+].[Cl-]``) is refused: there is no molecule to dock.
- **Elements**: Vina's scoring function has atom types for H, C, N, O, F, P, S, Cl, Br, I
  (and Si via Meeko). A molecule holding any other element (Pt in cisplatin, Fe in ferrocene,
  B, Se, ...) is refused: a metal complex cannot be represented, and dropping the metal would
  dock something else under the complex's name. Only counter-ions of group 1 and 2 metals and
  halides may be dropped as fragments.
- **Size**: at most :data:`MAX_HEAVY_ATOMS` heavy atoms and :data:`MAX_ROTATABLE_BONDS`
  rotatable bonds (AutoDock's torsion limit ``MAX_TORS``). Larger ligands (peptides, polymers)
  are beyond what Vina's search samples, and very large ones exhaust memory while being built.
"""

from __future__ import annotations

from dataclasses import dataclass

from remyfold.dock.errors import DockError
from remyfold.dock.extra import require

#: Elements Vina / Meeko can type in a ligand.
DOCKABLE_ELEMENTS = frozenset({"H", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Br", "I"})
#: Single-atom fragments that may be dropped from a salt (counter-ions).
COUNTER_IONS = frozenset({"Li", "Na", "K", "Rb", "Cs", "Mg", "Ca", "Sr", "Ba", "F", "Cl", "Br", "I"})
MAX_HEAVY_ATOMS = 150
MAX_ROTATABLE_BONDS = 32


@dataclass(frozen=True)
class Screened:
    """The fragment to dock (an RDKit ``Mol``) and the SMILES of the fragments dropped."""

    mol: object
    dropped: tuple[str, ...] = ()


def screen(mol, label: str) -> Screened:
    """The dockable fragment of ``mol`` (see the module docstring); :class:`DockError` otherwise."""
    Chem = require("rdkit.Chem")
    fragments = sorted(Chem.GetMolFrags(mol, asMols=True), key=lambda f: -f.GetNumHeavyAtoms())
    if fragments[0].GetNumHeavyAtoms() < 2:
        raise DockError(f"ligand {label} is ions or single atoms only ({Chem.MolToSmiles(mol)}); "
                        "Vina docks molecules: give the drug itself")  # fmt: skip
    _refuse_foreign_elements(fragments, label)
    kept = fragments[0]
    _refuse_too_large(kept, label)
    return Screened(kept, tuple(Chem.MolToSmiles(f) for f in fragments[1:]))


def _refuse_foreign_elements(fragments: list, label: str) -> None:
    """Refuse elements Vina cannot type, except counter-ions that are dropped anyway."""
    for index, fragment in enumerate(fragments):
        symbols = {atom.GetSymbol() for atom in fragment.GetAtoms()}
        foreign = sorted(symbols - DOCKABLE_ELEMENTS)
        ion = fragment.GetNumAtoms() == 1 and symbols <= COUNTER_IONS
        if foreign and not (index > 0 and ion):
            raise DockError(
                f"ligand {label} contains {', '.join(foreign)}: Vina has atom types for "
                f"{', '.join(sorted(DOCKABLE_ELEMENTS))} only, so metal complexes and other elements "
                "cannot be docked; give an organic molecule"
            )


def _refuse_too_large(mol, label: str) -> None:
    rdMolDescriptors = require("rdkit.Chem.rdMolDescriptors")
    heavy = mol.GetNumHeavyAtoms()
    if heavy > MAX_HEAVY_ATOMS:
        raise DockError(f"ligand {label} has {heavy} heavy atoms; Vina docks at most {MAX_HEAVY_ATOMS} "
                        "(drug-like molecules): give a smaller molecule")  # fmt: skip
    rotatable = rdMolDescriptors.CalcNumRotatableBonds(mol)
    if rotatable > MAX_ROTATABLE_BONDS:
        raise DockError(f"ligand {label} has {rotatable} rotatable bonds; Vina docks at most "
                        f"{MAX_ROTATABLE_BONDS} (AutoDock's torsion limit): give a more rigid molecule")  # fmt: skip
