"""Redocking checks: the crystal ligand of a complex and the symmetry-aware RMSD of a docked pose to it.

The crystal ligand is read from the structure (a residue by name, optional
chain) with RDKit and given bond orders from its SMILES
(``AssignBondOrdersFromTemplate``), or read from an SDF that carries them (or
whose wrong ones a SMILES replaces; :func:`planar_sp3_carbons` finds such
errors: a carbon typed sp3 that is flat in the file's own coordinates). The
RMSD is over heavy atoms, in place (no superposition: pose and crystal share
the receptor's frame), minimised over the molecule's symmetries
(``rdMolAlign.CalcRMS``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from remyfold.dock.errors import DockError
from remyfold.errors import first_line
from remyfold.dock.extra import require


def crystal_ligand_from_structure(path: str | Path, resname: str, chain: str | None, smiles: str):
    """The first residue named ``resname`` (in ``chain`` when given) as an RDKit molecule with bond orders."""
    from remyfold.errors import InputError
    from remyfold.io.structure_files import open_structure

    Chem = require("rdkit.Chem")
    AllChem = require("rdkit.Chem.AllChem")
    try:
        st = open_structure(Path(path))
    except InputError as err:
        raise DockError(str(err)) from None
    st.remove_hydrogens()
    st.remove_alternative_conformations()
    for ch in st[0]:
        if chain is not None and ch.name != chain:
            continue
        for res in ch:
            if res.name == resname:
                block = _residue_pdb_block(ch.name, res)
                mol = Chem.MolFromPDBBlock(block, removeHs=True, proximityBonding=True)
                if mol is None:
                    raise DockError(f"RDKit cannot read ligand {resname} of {path}")
                template = Chem.MolFromSmiles(smiles)
                return AllChem.AssignBondOrdersFromTemplate(template, mol)
    raise DockError(f"no residue {resname}{' in chain ' + chain if chain else ''} in {path}")


def _residue_pdb_block(chain: str, res) -> str:
    """PDB text of one residue (HETATM records with element columns, so RDKit types atoms right), by gemmi."""
    import gemmi

    structure = gemmi.Structure()
    model = gemmi.Model(1)
    part = gemmi.Chain(chain[:1] or "A")
    part.add_residue(res)
    model.add_chain(part)
    model[0][0].het_flag = "H"
    structure.add_model(model)
    return structure.make_pdb_string(gemmi.PdbWriteOptions(minimal=True))


def crystal_ligand_from_sdf(path: str | Path, smiles: str | None = None):
    """The first molecule of an SDF, hydrogens removed; bond orders from the file, or from ``smiles`` when given.

    ``smiles`` corrects a file whose bond orders are wrong (see :func:`planar_sp3_carbons`): its
    atoms keep their coordinates and get the SMILES' bond orders and charges.
    """
    Chem = require("rdkit.Chem")
    AllChem = require("rdkit.Chem.AllChem")
    try:
        mol = next(iter(Chem.SDMolSupplier(str(path), removeHs=True)), None)
    except OSError as err:  # RDKit refuses an empty or unreadable file
        raise DockError(f"cannot read {path} as SDF ({first_line(err)}); give an SDF with the ligand") from None
    if mol is None:
        raise DockError(f"no readable molecule in {path}")
    if smiles is None:
        return mol
    bare = Chem.RWMol(mol)  # the element graph only: the template sets orders, aromaticity and charges
    for bond in bare.GetBonds():
        bond.SetBondType(Chem.BondType.SINGLE)
        bond.SetIsAromatic(False)
    for atom in bare.GetAtoms():
        atom.SetIsAromatic(False)
        atom.SetFormalCharge(0)
    try:
        return AllChem.AssignBondOrdersFromTemplate(Chem.MolFromSmiles(smiles), bare.GetMol())
    except ValueError as err:
        raise DockError(f"SMILES {smiles} does not match the atoms of {path}: {first_line(err)}") from None


def planar_sp3_carbons(mol, max_angle_sum: float = 350.0) -> list[int]:
    """Carbons the bond orders call sp3 that are flat in the molecule's own 3D conformer: a bond-order error.

    A tetrahedral carbon with three heavy neighbours has bond angles summing to about 328°; a sum
    above ``max_angle_sum`` means a trigonal (sp2) carbon whose file lost a double or aromatic bond.
    Returns the atoms' indices (empty: the topology agrees with the coordinates).
    """
    Chem = require("rdkit.Chem")
    pos = mol.GetConformer().GetPositions()
    flat = []
    for atom in mol.GetAtoms():
        heavy = [n.GetIdx() for n in atom.GetNeighbors() if n.GetAtomicNum() > 1]
        if atom.GetAtomicNum() != 6 or atom.GetHybridization() != Chem.HybridizationType.SP3 or len(heavy) != 3:
            continue
        # [3, 3] unit vectors from the carbon to its three heavy neighbours
        bonds = pos[heavy] - pos[atom.GetIdx()]
        bonds /= np.linalg.norm(bonds, axis=1, keepdims=True)
        pairs = ((0, 1), (0, 2), (1, 2))
        total = sum(np.degrees(np.arccos(np.clip(bonds[i] @ bonds[j], -1.0, 1.0))) for i, j in pairs)
        if total > max_angle_sum:
            flat.append(atom.GetIdx())
    return flat


def ligand_centre(mol) -> np.ndarray:
    """Mean heavy-atom position ``[3]`` of a molecule's first conformer."""
    pos = mol.GetConformer().GetPositions()
    heavy = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() > 1]
    return pos[heavy].mean(axis=0)


def heavy_atom_rmsd(pose, crystal) -> float:
    """Symmetry-aware heavy-atom RMSD (Å) of ``pose`` to ``crystal``, without superposition.

    Atoms are matched on the element graph alone (:func:`_element_graph`): a pose docked ionised (a
    carboxylate, an ammonium) matches its neutral crystal ligand, and a carboxylate's or phosphate's
    oxygens are interchangeable whatever bond orders a file gives them.
    """
    rdMolAlign = require("rdkit.Chem.rdMolAlign")
    probe = _element_graph(pose)
    ref = _element_graph(crystal)
    if (probe.GetNumAtoms(), probe.GetNumBonds()) != (ref.GetNumAtoms(), ref.GetNumBonds()):
        raise DockError(f"pose and crystal ligand do not match atom for atom: {probe.GetNumAtoms()} and "
                        f"{ref.GetNumAtoms()} heavy atoms, {probe.GetNumBonds()} and {ref.GetNumBonds()} bonds")
    try:
        return float(rdMolAlign.CalcRMS(probe, ref))
    except RuntimeError as err:
        raise DockError(f"pose and crystal ligand do not match atom for atom: {err}") from None


def _element_graph(mol):
    """The heavy atoms of ``mol`` with their coordinates and bonds, every bond single, no charges or aromaticity."""
    Chem = require("rdkit.Chem")
    graph = Chem.RWMol(Chem.RemoveHs(mol, sanitize=False))
    for atom in graph.GetAtoms():
        atom.SetFormalCharge(0)
        atom.SetIsAromatic(False)
        atom.SetNoImplicit(True)
        atom.SetNumExplicitHs(0)
    for bond in graph.GetBonds():
        bond.SetBondType(Chem.BondType.SINGLE)
        bond.SetIsAromatic(False)
    graph.UpdatePropertyCache(strict=False)
    return graph.GetMol()


def redock(receptor, smiles: str, crystal, settings, ph: float = 7.4) -> dict:
    """Redock a ligand from its SMILES into the receptor's top-ranked pocket; score it against the crystal.

    ``receptor``: a :class:`~remyfold.dock.receptor.Receptor` (crystal ligand
    removed); ``crystal``: the crystal ligand (RDKit, bond orders set);
    ``settings``: :class:`~remyfold.dock.vina_dock.DockSettings`; the ligand is ionised at ``ph`` as
    ``remyfold dock`` does. Returns the
    pocket's distance to the crystal ligand centre (DCC), the top pose's Vina
    score and RMSD, and the lowest RMSD among all poses.
    """
    import tempfile
    from pathlib import Path

    from remyfold.dock.box import box_around
    from remyfold.dock.ligand import LigandSpec, ligand_3d, ligand_extent, ligand_pdbqt
    from remyfold.dock.pockets import find_pockets
    from remyfold.dock.receptor_prep import receptor_pdbqt
    from remyfold.dock.vina_dock import dock_pdbqt

    mol = ligand_3d(LigandSpec("ligand", smiles=smiles), settings.seed, ph)
    pockets = find_pockets(receptor)
    if not pockets:
        raise DockError(f"no pocket found in {receptor.name}")
    top = pockets[0]
    box = box_around(top.points, ligand_extent(mol))
    with tempfile.TemporaryDirectory(prefix="remyfold-redock-") as scratch:
        rec_path = Path(scratch) / "receptor.pdbqt"
        rec_path.write_text(receptor_pdbqt(receptor).pdbqt)
        poses = dock_pdbqt(rec_path, ligand_pdbqt(mol, "ligand"), box, settings).poses
    rmsds = [heavy_atom_rmsd(p.mol, crystal) for p in poses]
    return {
        "pocket_dcc": float(np.linalg.norm(np.asarray(top.centre) - ligand_centre(crystal))),
        "top_score": poses[0].score,
        "top_rmsd": rmsds[0],
        "best_rmsd": min(rmsds),
        "n_poses": len(poses),
        "heavy_atoms": crystal.GetNumHeavyAtoms(),
    }
