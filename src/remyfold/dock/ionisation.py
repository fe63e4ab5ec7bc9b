"""Ligand ionisation at a pH: the acids and bases whose charge state there is not in doubt.

A SMILES usually gives the neutral molecule, but at pH 7.4 clemastine's tertiary amine carries a
proton, metformin is a cation and bexarotene a carboxylate. Vina's atom types follow the hydrogens
(an N–H is a hydrogen-bond donor, a bare amine N an acceptor) and AutoDock4 scores the charges, so
the molecule docked should be the one present at the receptor's pH (``--ph``).

The rule is the textbook one (the Henderson–Hasselbalch equation with a group's typical pKa, as
in OpenBabel's ``-p`` model or Dimorphite-DL, Ropp et al., J Cheminform 11:14, 2019): an acid loses
its proton where ``pH >= pKa + 1`` and a base gains one where ``pH <= pKa - 1`` (then ≥ 90 % of the
molecules are in that state). A group whose pKa lies within one unit of the pH is left as given
and listed in ``near_pka``: neither state dominates and the user should choose. Only groups with a
well-known pKa are in the table (:data:`GROUPS`); everything else (anilines, pyridines, amides,
phenols, ...) stays neutral, which is right for them at physiological pH.

Two corrections keep a molecule from being over-charged, the known failure of per-group tables
(Dimorphite-DL 2.1 makes metformin a dication and 5-chlorouracil a dianion): a base is not
protonated within three bonds of a nitrogen already protonated (piperazine and ethylenediamine
take one proton; an amidine or guanidine none within four bonds, so biguanides take one), and the
second P–OH of a phosphate is an acid of its own, pKa 6.3 (methyl phosphate's; ADP at 7.4 is the
trianion), that of a phosphonate pKa 7.5 (left as given at 7.4). Atoms that already carry a
charge are never changed: a SMILES that states its charges keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass

from remyfold.dock.extra import require

#: Within this many pH units of a group's pKa its state is uncertain (≥ 90 % one state outside it).
PKA_WINDOW = 1.0


@dataclass(frozen=True)
class Group:
    """An ionisable group: the SMARTS whose first atom changes, its typical pKa, ``acid`` or ``base``.

    ``spacing`` (bases): not protonated within this many bonds of a nitrogen already protonated.
    """

    name: str
    smarts: str
    pka: float
    kind: str
    spacing: int = 0


# Strongest first: a base protonated earlier blocks weaker ones near it (``spacing``).
GROUPS = (
    Group("sulfonic or sulfuric acid", "[OX2H1][SX4](=[OX1])=[OX1]", -1.0, "acid"),
    Group("phosphate/phosphonate, first OH", "[OX2H1][PX4;!$(P[OX1-])]=[OX1]", 1.5, "acid"),
    Group("phosphate, second OH", "[OX2H1][PX4]([OX1-])(=[OX1])[OX2]", 6.3, "acid"),
    Group("phosphonate, second OH", "[OX2H1][PX4]([OX1-])(=[OX1])[#6]", 7.5, "acid"),
    Group("carboxylic acid", "[OX2H1][CX3;!$(C[#7])]=[OX1]", 4.2, "acid"),
    Group("tetrazole", "[nH1;r5]1:n:n:n:c:1", 4.9, "acid"),
    Group("tetrazole", "[nH1;r5]1:n:n:c:n:1", 4.9, "acid"),
    Group("acyl sulfonamide", "[NX3H1]([CX3]=[OX1])[SX4](=[OX1])=[OX1]", 4.5, "acid"),
    Group("guanidine", "[NX2;+0;!$(N[#8,#16]);!$(N[CX3,SX4]=[OX1])]=[CX3](-[NX3;!$(N[CX3,SX4]=[OX1])])"
          "-[NX3;!$(N[CX3,SX4]=[OX1])]", 13.0, "base", spacing=4),
    Group("amidine", "[NX2;+0;!$(N[#7,#8,#16]);!$(N[CX3,SX4]=[OX1])]=[CX3;!$(C[#8,#16])]([#6,#1])"
          "-[NX3;!$(N[CX3,SX4]=[OX1]);!$(N[#8])]", 11.5, "base", spacing=4),
    # An sp3 nitrogen whose neighbours are all sp3 carbons, none bearing a halogen or a nitrile
    # (those pull the pKa below 7) and none an aminal or hemiaminal carbon.
    Group("aliphatic amine", "[NX3;+0;!$(N~[!#6;!#1]);!$(N-[#6;!X4]);!$(N-[CX4]-[F,Cl,Br,I,#7,#8]);"
          "!$(N-[CX4]-C#N);!$(N-[CX4]-[CX4](F)F)]", 10.0, "base", spacing=3),
    Group("imidazole", "[nX2;r5]1:c:[nX3H1]:c:c:1", 7.0, "base", spacing=3),
    # N1 of a 2,4-diaminopyrimidine (antifolates: trimethoprim's pKa is 7.1)
    Group("2,4-diaminopyrimidine N1", "[nX2;r6]1:c(-[NX3;!$(N-C=O)]):n:c(-[NX3;!$(N-C=O)]):c:c:1", 7.2, "base",
          spacing=3),
)


@dataclass(frozen=True)
class Ionised:
    """A molecule at a pH: the molecule (no explicit hydrogens), what changed and what was left as given.

    ``changed``/``near_pka``: ``"<group> at <element><atom index>"`` (RDKit atom indices of the input).
    """

    mol: object
    smiles: str
    changed: tuple[str, ...]
    near_pka: tuple[str, ...]

    def as_dict(self, ph: float) -> dict:
        return {"charges": "ph", "ph": ph, "smiles_docked": self.smiles, "changed": list(self.changed),
                "near_pka": list(self.near_pka)}


def ionise(mol, ph: float) -> Ionised:
    """``mol`` with the unambiguous groups of :data:`GROUPS` ionised at ``ph`` (the input is not changed).

    Groups are taken one at a time, strongest first, and matched again after each change (a
    phosphate's second OH becomes an acid only once its first has gone).
    """
    Chem = require("rdkit.Chem")
    work = Chem.RWMol(Chem.RemoveHs(mol))
    changed, near, seen = [], [], set()
    for group in GROUPS:
        pattern = Chem.MolFromSmarts(group.smarts)
        while True:
            hit = next((m[0] for m in work.GetSubstructMatches(pattern) if (m[0], group.name) not in seen), None)
            if hit is None:
                break
            seen.add((hit, group.name))
            label = f"{group.name} at {work.GetAtomWithIdx(hit).GetSymbol()}{hit}"
            if abs(ph - group.pka) < PKA_WINDOW:
                near.append(label)
            elif group.kind == "acid" and ph > group.pka:
                _set_charge(work, hit, -1)
                changed.append(label)
            elif group.kind == "base" and ph < group.pka and not _near_cation(work, hit, group.spacing):
                _set_charge(work, hit, +1)
                changed.append(label)
    out = work.GetMol()
    Chem.SanitizeMol(out)
    return Ionised(out, Chem.MolToSmiles(out), tuple(changed), tuple(near))


def _set_charge(mol, index: int, charge: int) -> None:
    """Add (+1) or remove (-1) one proton on atom ``index``, with its formal charge."""
    atom = mol.GetAtomWithIdx(index)
    hydrogens = atom.GetTotalNumHs()
    atom.SetFormalCharge(charge)
    atom.SetNoImplicit(True)
    atom.SetNumExplicitHs(hydrogens + charge)
    mol.UpdatePropertyCache(strict=False)


def _near_cation(mol, index: int, spacing: int) -> bool:
    """Whether a positively charged nitrogen lies within ``spacing`` bonds of atom ``index``."""
    Chem = require("rdkit.Chem")
    distances = Chem.GetDistanceMatrix(mol)[index]
    return any(a.GetFormalCharge() > 0 and a.GetAtomicNum() == 7 and 0 < distances[a.GetIdx()] <= spacing
               for a in mol.GetAtoms())  # fmt: skip
