"""Docking sites the user knows: a ligand file, receptor residues, or a homolog's complex.

``remyfold dock`` takes, instead of ``--pocket``/``--box``, one of

* ``--site-ligand FILE``: an SDF or MOL2 file (its first molecule), or a PDB/mmCIF file with
  ``FILE:LIG`` naming the ligand residue (``LIG`` alone may be left out when the file holds a
  single non-water, non-polymer residue);
* ``--site-residues A:123,A:GLN127,B:45A``: receptor residues (chain, optional residue name,
  number, optional insertion code);
* ``--site-from HOMOLOG:LIG``: a structure of a homolog with a bound ligand (``LIG`` is
  ``RESNAME``, ``CHAIN:RESNAME`` or ``CHAIN:RESNAME:NUMBER``). The homolog's protein chain that
  touches the ligand is paired with each receptor chain by ``compare``'s residue pairing
  (:func:`remyfold.metrics.alignment.align_chains`: numbering, sequence alignment, or TM-align for
  distant homologs; where even TM-align finds a different fold, its pairing is still made and
  judged below) and superposed by ``compare``'s TM-score search
  (:func:`remyfold.metrics.tmscore.tm_score_search`, normalised by the shorter chain, so a
  full-length model and a crystallised domain compare fairly); the best receptor chain is kept. The ligand's coordinates are moved by that superposition. Refused when
  the TM-score is below :data:`MIN_TM`, or when fewer than :data:`MIN_LINING_PAIRED` of the homolog
  residues lining the ligand have a receptor partner (the site is not in the receptor).

Each resolves, per receptor, to site points ``[M, 3]`` (ligand heavy atoms or residue heavy atoms);
the search box is :func:`remyfold.dock.box.box_around` those points for each ligand docked.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from remyfold.dock.errors import DockError

KINDS = ("ligand", "residues", "from")
MIN_TM = 0.5
MIN_LINING_PAIRED = 0.5
#: Homolog residues with a heavy atom this close (Å) to the ligand line its site.
LINING = 4.5
_STRUCTURE_WITH_LIGAND = re.compile(r"^(.+?\.(?:pdb|ent|cif|mmcif)(?:\.gz|\.bz2|\.xz)?):(.+)$", re.IGNORECASE)
_RESIDUE = re.compile(r"^([A-Za-z0-9]{1,4}):([A-Za-z]{3})?(-?\d+)([A-Za-z]?)$")
_WATERS = {"HOH", "WAT", "DOD", "H2O"}


@dataclass(frozen=True)
class Site:
    """A site given on the command line: ``kind`` (one of :data:`KINDS`) and the option's value."""

    kind: str
    value: str

    def option(self) -> str:
        return f"--site-{self.kind}"

    def request(self) -> dict:
        """The site in a pair's request: the value and the digest of the file it names (if any)."""
        path = self.file()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path is not None else None
        return {"site": self.kind, "value": self.value, "sha256": digest}

    def file(self) -> Path | None:
        """The file the value names (``None`` for residues)."""
        if self.kind == "residues":
            return None
        match = _STRUCTURE_WITH_LIGAND.match(self.value)
        return Path(match.group(1) if match else self.value)


@dataclass(frozen=True)
class SitePoints:
    """A resolved site: ``points [M, 3]`` to box, a one-line ``description``, ``details`` for the record."""

    points: np.ndarray
    description: str
    details: dict = field(default_factory=dict)


def parse_site(kind: str, value: str) -> Site:
    """A checked :class:`Site` (DockError for a missing file or a malformed residue list)."""
    site = Site(kind, value.strip())
    if kind == "residues":
        parse_residues(site.value)
    elif not site.file().is_file():
        raise DockError(f"{site.option()} {value}: no such file {site.file()}; give an existing file")
    return site


def resolve_site(site: Site, receptor) -> SitePoints:
    """The points of ``site`` for a :class:`~remyfold.dock.receptor.Receptor` (DockError when it cannot be placed)."""
    if site.kind == "residues":
        return residue_points(receptor, site.value)
    if site.kind == "ligand":
        points, label = ligand_file_points(site.value)
        return SitePoints(points, f"ligand {label}", {"ligand": label})
    return homolog_ligand_points(site.value, receptor.path)


def parse_residues(value: str) -> list[tuple[str, str | None, int, str]]:
    """``"A:123,A:GLN127,B:45A"`` -> ``[(chain, resname or None, number, icode), ...]``."""
    items = [item.strip() for item in value.split(",")]
    parsed = []
    for item in items:
        match = _RESIDUE.match(item)
        if match is None:
            raise DockError(f"--site-residues {value!r}: {item!r} is not CHAIN:NUMBER or CHAIN:RESNAME NUMBER "
                            "(e.g. A:725 or A:GLN725)")  # fmt: skip
        chain, name, number, icode = match.groups()
        parsed.append((chain, name.upper() if name else None, int(number), icode))
    return parsed


def residue_points(receptor, value: str) -> SitePoints:
    """Heavy atoms of the listed receptor residues; DockError naming every missing or misnamed one."""
    wanted = parse_residues(value)
    problems, keys = [], []
    for chain, name, number, icode in wanted:
        key = (chain, number, icode)
        found = receptor.residue_names.get(key)
        label = f"{chain}:{name or ''}{number}{icode}"
        if found is None:
            problems.append(f"{label} is missing")
        elif name is not None and found != name:
            problems.append(f"{label} is {found}")
        keys.append(key)
    if problems:
        raise DockError(f"--site-residues: in receptor {receptor.name}, {'; '.join(problems)}; "
                        "give residues of the receptor file (chain:number as in the file)")  # fmt: skip
    mask = np.array([key in set(keys) for key in receptor.residues])
    labels = [f"{c}:{receptor.residue_names[(c, n, i)]}{n}{i}" for c, n, i in keys]
    return SitePoints(receptor.coords[mask], f"residues {', '.join(labels)}", {"residues": labels})


def ligand_file_points(value: str) -> tuple[np.ndarray, str]:
    """Heavy-atom coordinates ``[M, 3]`` of a ligand file (SDF/MOL2, or PDB/mmCIF with ``:LIG``) and its label."""
    match = _STRUCTURE_WITH_LIGAND.match(value)
    path = Path(match.group(1) if match else value)
    lower = path.name.lower()
    if lower.endswith((".sdf", ".mol2")):
        return _molecule_points(path), path.name
    if match is None and not re.search(r"\.(pdb|ent|cif|mmcif)(\.gz|\.bz2|\.xz)?$", lower):
        raise DockError(f"--site-ligand {value}: give an .sdf or .mol2 file, or a PDB/mmCIF file (FILE:LIG names "
                        "the ligand residue)")  # fmt: skip
    residue = find_ligand(path, match.group(2) if match else None, "--site-ligand")
    return residue.points, f"{path.name}:{residue.label}"


def _molecule_points(path: Path) -> np.ndarray:
    """Heavy atoms of the first molecule of an SDF or MOL2 file (RDKit)."""
    from remyfold.dock.extra import require

    Chem = require("rdkit.Chem")
    if path.name.lower().endswith(".mol2"):
        mol = Chem.MolFromMol2File(str(path), sanitize=False, removeHs=False)
    else:
        try:
            mol = next(iter(Chem.SDMolSupplier(str(path), sanitize=False, removeHs=False)), None)
        except OSError:
            mol = None
    if mol is None or mol.GetNumConformers() == 0:
        raise DockError(f"--site-ligand {path}: no readable molecule with coordinates; give an SDF/MOL2 with 3D atoms")
    heavy = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() > 1]
    return mol.GetConformer().GetPositions()[heavy]


@dataclass(frozen=True)
class LigandResidue:
    """A ligand residue found in a structure file: heavy-atom ``points [M, 3]``, ``label`` ``CHAIN:NAME:NUM``."""

    points: np.ndarray
    label: str
    chain: str


def find_ligand(path: Path, spec: str | None, option: str) -> LigandResidue:
    """The ligand residue ``spec`` (``NAME``, ``CHAIN:NAME``, ``CHAIN:NAME:NUM``; ``None``: the only one)."""
    import gemmi

    from remyfold.errors import InputError
    from remyfold.io.structure_files import open_structure

    try:
        structure = open_structure(path)
    except InputError as err:
        raise DockError(f"{option}: {err}") from None
    structure.remove_alternative_conformations()
    chain, name, number = _ligand_spec(spec, option)
    found, names = [], set()
    for ch in structure[0]:
        for res in ch:
            known = gemmi.find_tabulated_residue(res.name)
            if res.name in _WATERS or (known is not None and (known.is_amino_acid() or known.is_nucleic_acid())):
                continue
            names.add(res.name)
            if (name in (None, res.name) and chain in (None, ch.name)
                    and number in (None, res.seqid.num)):  # fmt: skip
                found.append((ch.name, res))
    where = f"{path.name}" + (f" (ligand residues: {', '.join(sorted(names))})" if names else " (no ligand residue)")
    if not found:
        raise DockError(f"{option}: no ligand residue {spec} in {where}; name one as RESNAME, CHAIN:RESNAME or "
                        "CHAIN:RESNAME:NUMBER")  # fmt: skip
    if spec is None and len(found) > 1:
        raise DockError(f"{option}: {where} holds {len(found)} ligand residues; name one as FILE:RESNAME")
    chain_name, res = found[0]
    points = np.array([(a.pos.x, a.pos.y, a.pos.z) for a in res if a.element.name not in ("H", "D")])
    if len(points) == 0:
        raise DockError(f"{option}: ligand {res.name} in {path.name} has no heavy atoms")
    return LigandResidue(points, f"{chain_name}:{res.name}:{res.seqid.num}", chain_name)


def _ligand_spec(spec: str | None, option: str) -> tuple[str | None, str | None, int | None]:
    """``NAME`` | ``CHAIN:NAME`` | ``CHAIN:NAME:NUM`` -> (chain, name, number)."""
    if spec is None:
        return None, None, None
    parts = spec.split(":")
    if len(parts) > 3 or not all(parts) or (len(parts) == 3 and not re.fullmatch(r"-?\d+", parts[2])):
        raise DockError(f"{option}: {spec!r} is not RESNAME, CHAIN:RESNAME or CHAIN:RESNAME:NUMBER")
    if len(parts) == 1:
        return None, parts[0].upper(), None
    return parts[0], parts[1].upper(), int(parts[2]) if len(parts) == 3 else None


def homolog_ligand_points(value: str, receptor_path: Path) -> SitePoints:
    """The ligand of ``HOMOLOG:LIG`` moved onto the receptor by ``compare``'s pairing and superposition."""
    from remyfold.errors import InputError
    from remyfold.io.structure_reader import read_chains

    match = _STRUCTURE_WITH_LIGAND.match(value)
    if match is None:
        raise DockError(f"--site-from {value!r}: give HOMOLOG.pdb|cif:LIG (LIG: RESNAME, CHAIN:RESNAME or "
                        "CHAIN:RESNAME:NUMBER)")  # fmt: skip
    path = Path(match.group(1))
    ligand = find_ligand(path, match.group(2), "--site-from")
    try:
        homolog_chains, receptor_chains = read_chains(path), read_chains(receptor_path)
    except InputError as err:
        raise DockError(f"--site-from: {err}") from None
    chain, lining = _lining_chain(homolog_chains, ligand, path)
    best = _best_superposition(chain, receptor_chains, path)
    alignment, tm = best
    paired = np.isin(lining, alignment.model_residues)
    details = {
        "homolog": str(path), "ligand": ligand.label, "homolog_chain": chain.chain_id,
        "receptor_chain": alignment.reference.chain_id, "pairing": alignment.method,
        "paired_residues": alignment.aligned, "sequence_identity": round(alignment.identity or 0.0, 3),
        "tm_score": round(tm.tm_score, 3), "rmsd": round(tm.rmsd, 2),
        "lining_residues_paired": f"{int(paired.sum())}/{len(lining)}",
    }  # fmt: skip
    where = (f"{path.name} chain {chain.chain_id} on receptor chain {alignment.reference.chain_id} "
             f"(TM-score {tm.tm_score:.2f}, Cα RMSD {tm.rmsd:.1f} Å, {alignment.aligned} residues paired by "
             f"{alignment.method})")  # fmt: skip
    if tm.tm_score < MIN_TM:
        raise DockError(f"--site-from: poor superposition of {where}: TM-score below {MIN_TM}, the ligand's site "
                        "cannot be carried over; give a closer homolog, --site-residues or --box")  # fmt: skip
    if paired.mean() < MIN_LINING_PAIRED:
        raise DockError(f"--site-from: only {details['lining_residues_paired']} residues lining {ligand.label} in "
                        f"{where} have a receptor partner: the site is not in the receptor; give --site-residues "
                        "or --box")  # fmt: skip
    details["pocket_ca_rmsd"] = round(_pocket_rmsd(alignment, lining[paired], tm), 2)
    moved = ligand.points @ tm.rotation.T + tm.translation
    return SitePoints(moved, f"ligand {ligand.label} of {where}", details)


def _lining_chain(chains, ligand: LigandResidue, path: Path):
    """The homolog chain with the most heavy atoms within :data:`LINING` Å of the ligand, and its lining residues."""
    best, best_count, best_lining = None, 0, None
    for chain in chains:
        # Distances [atoms, ligand atoms] between the chain's and the ligand's heavy atoms.
        distances = np.linalg.norm(chain.atom_positions[:, None, :] - ligand.points[None, :, :], axis=2)
        near = distances.min(axis=1) <= LINING
        if near.sum() > best_count:
            best, best_count, best_lining = chain, int(near.sum()), np.unique(chain.atom_residue[near])
    if best is None:
        raise DockError(f"--site-from: no protein chain of {path.name} touches ligand {ligand.label} "
                        f"(no heavy atom within {LINING} Å); name a bound ligand")  # fmt: skip
    return best, best_lining


def _best_superposition(chain, receptor_chains, path: Path):
    """``(ChainAlignment, TMResult)`` of the homolog chain on the receptor chain that superposes best."""
    from remyfold.errors import InputError, first_line
    from remyfold.metrics.alignment import align_chains
    from remyfold.metrics.tmscore import tm_score_search

    best, reasons = None, []
    for receptor_chain in receptor_chains:
        try:
            alignment = align_chains(chain, receptor_chain, "auto")
        except InputError:
            try:  # different folds: TM-align's pairing, judged below by its TM-score like any other
                alignment = align_chains(chain, receptor_chain, "structure")
            except InputError as err:
                reasons.append(first_line(err))
                continue
        model_ca = alignment.model.ca_positions[alignment.model_residues]
        reference_ca = receptor_chain.ca_positions[alignment.reference_residues]
        tm = tm_score_search(model_ca, reference_ca, min(chain.length, receptor_chain.length))
        if best is None or tm.tm_score > best[1].tm_score:
            best = (alignment, tm)
    if best is None:
        raise DockError(f"--site-from: poor superposition: {path.name} chain {chain.chain_id} pairs with no receptor "
                        f"chain ({reasons[0] if reasons else 'no protein chain'}); give a closer homolog, "
                        "--site-residues or --box")  # fmt: skip
    return best


def _pocket_rmsd(alignment, lining: np.ndarray, tm) -> float:
    """Cα RMSD (Å), after the superposition, of the paired homolog residues lining the ligand."""
    if len(lining) == 0:
        return float("nan")
    partner = dict(zip(alignment.model_residues.tolist(), alignment.reference_residues.tolist()))
    mobile = alignment.model.ca_positions[lining] @ tm.rotation.T + tm.translation
    target = alignment.reference.ca_positions[[partner[i] for i in lining.tolist()]]
    return float(np.sqrt(np.mean(np.sum((mobile - target) ** 2, axis=1))))
