"""Receptor preparation for Vina: PDBFixer/OpenMM (names, missing atoms, protonation at a pH), then Meeko.

The field's preparation, in four steps, none of which drops a residue silently:

1. **Standard names.** Amber/CHARMM force-field names (HSD HSE HSP HID HIE HIP
   CYX CYM ASH GLH LYN) become their residue's (HIS, CYS, ...); PDBFixer then
   replaces modified residues by their parents (MSE -> MET, CSO -> CYS), as its
   ``replaceNonstandardResidues`` does.
2. **Missing heavy atoms** are built by PDBFixer (``addMissingAtoms``; missing
   loops are not modelled), and **hydrogens added at** ``pH`` (default 7.4) by
   OpenMM's ``Modeller`` rules (``addMissingHydrogens``).
3. **Protonation states to Meeko's templates.** From the hydrogens OpenMM
   placed, each residue gets its Amber variant name (HID/HIE/HIP, CYX for a
   disulfide, CYM, ASH, GLH, LYN); the heavy atoms are written by gemmi in the
   standard order (backbone N CA C O first, so files in CHARMM/PDBQT order such
   as N CA CB OG C O read the same), and Meeko builds hydrogens from those
   templates.
4. **Meeko** (``Polymer.from_pdb_string``) bonds residues by proximity; any
   inter-residue contact shorter than its bond cut-off that is not a peptide or
   disulfide bond (e.g. an Arg–Glu salt bridge in a distorted model) is passed
   as ``bonds_to_delete``, so that both residues keep their templates.

A residue Meeko still cannot match is excluded and **listed**: in
:attr:`PreparedReceptor.excluded`, the PDBQT ``REMARK`` lines, the dock record
and on stderr (the caller warns). Needs the ``remyfold[dock]`` extra (PDBFixer,
OpenMM, Meeko, RDKit).
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from dataclasses import dataclass

import numpy as np

from remyfold.dock.errors import DockError
from remyfold.dock.extra import require
from remyfold.errors import first_line
from remyfold.io.parent_residues import FORCE_FIELD_NAMES, parent_name

DEFAULT_PH = 7.4
BACKBONE_ORDER = ("N", "CA", "C", "O", "OXT")
# Meeko's inter-residue bond rule (meeko.polymer.find_inter_mols_bonds): closer than 1.2 x the covalent radii sum.
BOND_ALLOWANCE = 1.2
COVALENT_RADII = {"C": 0.75, "N": 0.71, "O": 0.66, "S": 1.05, "Se": 1.20}


#: ``--ligand-charges``: ionise the ligands at the pH (:mod:`remyfold.dock.ionisation`), or dock them as given.
LIGAND_CHARGES = ("ph", "as-given")


@dataclass(frozen=True)
class PrepSettings:
    """How the inputs are prepared: the pH of the receptor's protonation states and of the ligands'
    ionisation (``ligand_charges="ph"``; ``"as-given"``: the charges the SMILES or SDF states)."""

    ph: float = DEFAULT_PH
    ligand_charges: str = "ph"

    def __post_init__(self):
        if not 0.0 <= self.ph <= 14.0:
            raise DockError(f"--ph {self.ph}: give a pH between 0 and 14")
        if self.ligand_charges not in LIGAND_CHARGES:
            raise DockError(f"--ligand-charges {self.ligand_charges!r}: give ph (ionise at --ph) or as-given")

    @property
    def ligand_ph(self) -> float | None:
        """The pH the ligands are ionised at (``None``: docked as given)."""
        return self.ph if self.ligand_charges == "ph" else None

    def ligand_request(self) -> dict:
        """The ligand preparation a pair's result depends on (part of its request)."""
        return {"charges": self.ligand_charges, "ph": self.ligand_ph}

    def as_dict(self) -> dict:
        return {"ph": self.ph, "tool": "PDBFixer/OpenMM + Meeko", "missing_atoms": "added", "missing_loops": "not modelled"}


@dataclass(frozen=True)
class PreparedReceptor:
    """Meeko's rigid PDBQT and what preparation changed.

    ``excluded``: ``chain:RESnum`` of residues left out (none expected);
    ``renamed``: ``chain:OLDnum -> NEW`` for force-field and modified residue names;
    ``added_atoms``: heavy atoms PDBFixer built.
    """

    pdbqt: str
    excluded: tuple[str, ...]
    renamed: tuple[str, ...]
    added_atoms: int
    settings: PrepSettings
    excluded_keys: tuple = ()  # (chain, number, insertion code) of each excluded residue

    def as_dict(self) -> dict:
        return {**self.settings.as_dict(), "excluded_residues": list(self.excluded),
                "renamed_residues": list(self.renamed), "added_heavy_atoms": self.added_atoms}


def prepare_receptor(structure, name: str, settings: PrepSettings = PrepSettings()) -> PreparedReceptor:
    """Prepare the protein ``structure`` (a gemmi structure, one model, heavy atoms) for Vina."""
    import gemmi

    structure = structure.clone()
    renamed = _standard_names(structure)
    fixed, more_renamed, added = _pdbfixer(structure.make_pdb_string(gemmi.PdbWriteOptions(minimal=True)), settings)
    heavy, variants = _variant_structure(fixed)
    residues = [f"{ch.name}:{r.seqid.num}{r.seqid.icode.strip()}" for ch in heavy[0] for r in ch]
    labels = {f"{ch.name}:{r.seqid.num}{r.seqid.icode.strip()}": f"{ch.name}:{r.name}{r.seqid.num}{r.seqid.icode.strip()}"
              for ch in heavy[0] for r in ch}
    pdbqt, kept = _meeko(heavy.make_pdb_string(gemmi.PdbWriteOptions(minimal=True)), _spurious_bonds(heavy),
                         _untemplated(heavy), variants, name)
    excluded = tuple(labels[r] for r in residues if r not in kept)
    keys = tuple((r.split(":")[0], *_number(r.split(":")[1])) for r in residues if r not in kept)
    remarks = [f"REMARK   prepared: PDBFixer/OpenMM hydrogens at pH {settings.ph:g}, Meeko templates\n"]
    remarks += [f"REMARK   renamed: {item}\n" for item in renamed + more_renamed]
    remarks += [f"REMARK   excluded by Meeko (no template match, or not buildable): {item}\n" for item in excluded]
    return PreparedReceptor("".join(remarks) + pdbqt, excluded, tuple(renamed + more_renamed), added, settings, keys)


def _number(text: str) -> tuple[int, str]:
    """``"27B"`` -> ``(27, "B")``."""
    digits = text.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    return int(digits), text[len(digits):]


def receptor_pdbqt(receptor, settings: PrepSettings = PrepSettings()) -> PreparedReceptor:
    """Prepare a :class:`~remyfold.dock.receptor.Receptor`'s protein (see :func:`prepare_receptor`)."""
    return prepare_receptor(receptor.protein.structure, receptor.name, settings)


def _standard_names(structure) -> list[str]:
    """Rename force-field residue names (HSD, CYX, ...) to their residue's, in place; list the renames."""
    renamed = []
    for chain in structure[0]:
        for residue in chain:
            if residue.name in FORCE_FIELD_NAMES:
                new = parent_name(residue.name)
                renamed.append(f"{chain.name}:{residue.name}{residue.seqid.num}{residue.seqid.icode.strip()} -> {new}")
                residue.name = new
    return renamed


def _pdbfixer(pdb: str, settings: PrepSettings):
    """PDBFixer: replace modified residues, add missing heavy atoms and hydrogens at ``settings.ph``.

    Returns (the fixed OpenMM ``(topology, positions)``, renames, number of heavy atoms added).
    """
    pdbfixer = require("pdbfixer")
    fixer = pdbfixer.PDBFixer(pdbfile=io.StringIO(pdb))
    fixer.findMissingResidues()
    fixer.missingResidues = {}  # loops absent from the file are not modelled
    fixer.findNonstandardResidues()
    renamed = [f"{r.chain.id}:{r.name}{r.id.strip()}{(r.insertionCode or '').strip()} -> {new}"
               for r, new in fixer.nonstandardResidues]
    fixer.replaceNonstandardResidues()
    fixer.findMissingAtoms()
    added = sum(len(atoms) for atoms in fixer.missingAtoms.values()) + sum(
        len(atoms) for atoms in fixer.missingTerminals.values())
    try:
        fixer.addMissingAtoms()
        fixer.addMissingHydrogens(settings.ph)
    except Exception as err:  # OpenMM raises plain Exception/ValueError for residues it cannot build
        raise DockError(f"PDBFixer could not prepare the receptor: {first_line(err)}") from None
    return (fixer.topology, fixer.positions), renamed, added


def _variant_names(residue, disulfide: set) -> str:
    """Amber variant name of an OpenMM residue from its hydrogens (HIS -> HID/HIE/HIP, ...)."""
    names = {atom.name for atom in residue.atoms()}
    if residue.name == "HIS":
        return {(True, True): "HIP", (True, False): "HID"}.get(("HD1" in names, "HE2" in names), "HIE")
    if residue.name == "CYS":  # a thiolate (no HG, no disulfide) keeps Meeko's CYS: it has no CYM template
        return "CYX" if residue.index in disulfide else "CYS"
    variants = {"ASP": ("HD2", "ASH"), "GLU": ("HE2", "GLH")}
    if residue.name in variants and variants[residue.name][0] in names:
        return variants[residue.name][1]
    if residue.name == "LYS" and "HZ3" not in names:
        return "LYN"
    return residue.name


def _variant_structure(fixed):
    """A gemmi structure of the fixed heavy atoms, residues named by protonation variant, backbone first;
    and Meeko's template of each variant residue (``N``/``C`` prefix at a chain terminus, as Meeko names them)."""
    import gemmi

    known = set(_templates().residue_templates)
    variants = {}
    topology, positions = fixed
    xyz = np.asarray([[v.x, v.y, v.z] for v in positions]) * 10.0  # nm -> Å
    disulfide = {a.residue.index for bond in topology.bonds() for a in bond
                 if bond[0].name == "SG" and bond[1].name == "SG"}
    structure, model = gemmi.Structure(), gemmi.Model(1)
    for chain in topology.chains():
        part = gemmi.Chain(chain.id)
        for residue in chain.residues():
            name = _variant_names(residue, disulfide)
            part.add_residue(_gemmi_residue(residue, name, xyz))
            if name != residue.name:
                atoms = {atom.name for atom in residue.atoms()}
                template = ("N" if "H2" in atoms else "C" if "OXT" in atoms else "") + name
                variants[f"{chain.id}:{int(residue.id)}{(residue.insertionCode or '').strip()}"] = (
                    template if template in known else name)
        model.add_chain(part)
    structure.add_model(model)
    structure.setup_entities()
    return structure, variants


def _gemmi_residue(residue, name: str, xyz: np.ndarray):
    """One gemmi residue of an OpenMM residue's heavy atoms, backbone atoms first."""
    import gemmi

    out = gemmi.Residue()
    out.name, out.seqid = name, gemmi.SeqId(int(residue.id), (residue.insertionCode or " ")[:1])
    heavy = [a for a in residue.atoms() if a.element is not None and a.element.symbol != "H"]
    order = {n: i for i, n in enumerate(BACKBONE_ORDER)}
    for atom in sorted(heavy, key=lambda a: order.get(a.name, len(order))):
        record = gemmi.Atom()
        record.name, record.element = atom.name, gemmi.Element(atom.element.symbol)
        record.pos, record.occ = gemmi.Position(*xyz[atom.index]), 1.0
        out.add_atom(record)
    return out


def _spurious_bonds(structure) -> list[tuple[str, str]]:
    """Residue pairs Meeko would bond by proximity that are neither peptide nor disulfide bonds.

    Raises:
        DockError: a pair overlaps by two or more such contacts (Meeko can delete one bond per pair).
    """
    atoms = [(f"{ch.name}:{r.seqid.num}{r.seqid.icode.strip()}", i, ch.name, r, a)
             for ch in structure[0] for i, r in enumerate(ch) for a in r]
    xyz = np.array([[a.pos.x, a.pos.y, a.pos.z] for *_, a in atoms]).reshape(-1, 3)
    radii = np.array([COVALENT_RADII.get(a.element.name, 0.75) for *_, a in atoms])
    from scipy.spatial import cKDTree

    pairs: dict[tuple[str, str], int] = {}
    for i, j in cKDTree(xyz).query_pairs(2 * BOND_ALLOWANCE * max(COVALENT_RADII.values())):
        (key_i, index_i, chain_i, _res_i, atom_i), (key_j, index_j, chain_j, _res_j, atom_j) = atoms[i], atoms[j]
        if key_i == key_j or np.linalg.norm(xyz[i] - xyz[j]) > BOND_ALLOWANCE * (radii[i] + radii[j]):
            continue
        peptide = chain_i == chain_j and abs(index_i - index_j) == 1 and {atom_i.name, atom_j.name} == {"C", "N"}
        if not peptide and not (atom_i.name == "SG" and atom_j.name == "SG"):
            pairs[(key_i, key_j)] = pairs.get((key_i, key_j), 0) + 1
    overlapping = [f"{a} and {b}" for (a, b), count in pairs.items() if count > 1]
    if overlapping:
        raise DockError(f"receptor residues {'; '.join(overlapping)} overlap (several atom pairs closer than a "
                        "covalent bond); fix or remove them before docking")
    return sorted(pairs)


def _untemplated(structure) -> list[str]:
    """Residues whose name Meeko has no template for (it would try to download one): left out, and listed."""
    templates = _templates()
    known = set(templates.residue_templates) | set(templates.ambiguous)
    return [f"{ch.name}:{r.seqid.num}{r.seqid.icode.strip()}" for ch in structure[0] for r in ch if r.name not in known]


def _templates():
    """Meeko's default residue templates."""
    return require("meeko").ResidueChemTemplates.create_from_defaults()


#: Residues Meeko cannot build (distorted geometry) that are left out, one retry each, before giving up.
MAX_UNBUILDABLE = 5
_UNBUILDABLE = re.compile(r"unable to build rdkit mol for residue \S+ corresponding to key (\S+)")


def _meeko(pdb: str, bonds_to_delete: list, untemplated: list[str], variants: dict, name: str) -> tuple[str, set[str]]:
    """Meeko's rigid PDBQT of heavy-atom PDB text, and the ids of the residues it kept.

    A residue Meeko cannot build as a molecule (e.g. a lysine whose side chain folds onto its own
    backbone) is left out and Meeko run again, up to :data:`MAX_UNBUILDABLE` such residues; the
    residues left out are then listed like the untemplated ones (not in the kept set).
    """
    unbuildable: list[str] = []
    for _attempt in range(MAX_UNBUILDABLE + 1):
        try:
            return _meeko_once(pdb, bonds_to_delete, untemplated, variants, name)
        except DockError as err:
            match = _UNBUILDABLE.search(str(err))
            if match is None or match.group(1) in unbuildable:
                raise
            unbuildable.append(match.group(1))
            pdb = _without_residue(pdb, match.group(1))  # Meeko builds every residue before deleting any
    raise DockError(f"Meeko could not build more than {MAX_UNBUILDABLE} residues of receptor {name} "
                    f"({', '.join(unbuildable)}, ...); check the structure's geometry")


def _without_residue(pdb: str, key: str) -> str:
    """PDB text without the atom records of residue ``key`` (``CHAIN:NUMBER[ICODE]``, Meeko's key)."""
    def key_of(line: str) -> str:
        return f"{line[21:22].strip()}:{line[22:26].strip()}{line[26:27].strip()}"

    return "".join(line for line in pdb.splitlines(keepends=True)
                   if not (line.startswith(("ATOM", "HETATM")) and key_of(line) == key))


def _meeko_once(pdb: str, bonds_to_delete: list, untemplated: list[str], variants: dict,
                name: str) -> tuple[str, set[str]]:
    """One Meeko run (see :func:`_meeko`)."""
    meeko = require("meeko")
    require("rdkit").RDLogger.DisableLog("rdApp.*")
    logging.getLogger("meeko").setLevel(logging.ERROR)
    chatter = io.StringIO()
    try:
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            polymer = meeko.Polymer.from_pdb_string(pdb, _templates(), meeko.MoleculePreparation(), allow_bad_res=True,
                                                    bonds_to_delete=bonds_to_delete or None,
                                                    residues_to_delete=untemplated or None,
                                                    set_template=variants or None)
            rigid, _flexible = meeko.PDBQTWriterLegacy.write_from_polymer(polymer)
    except Exception as err:  # Meeko raises plain RuntimeError / ValueError / PolymerCreationError
        raise DockError(f"Meeko could not prepare receptor {name}: {first_line(err)}") from None
    if not rigid.strip():
        raise DockError(f"Meeko matched no residue of receptor {name} to its templates")
    return rigid, set(polymer.get_valid_monomers())
