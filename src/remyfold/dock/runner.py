"""``run_docking``: every receptor × ligand pair, with resumable, atomic outputs.

For each pair ``<receptor>__<ligand>`` in the output folder:

- ``.poses.sdf``: the poses, best first (hydrogens relaxed, see
  :mod:`remyfold.dock.pose_checks`), each with ``vina_score`` (kcal/mol),
  ``pose_rank``, ``pocket`` (the rank of the pocket it was docked in, or
  ``site``/``box``), ``receptor``, ``ligand`` and ``posebusters_passed``
  properties. With the pocket found automatically the top ``--pockets`` pockets
  are each docked and their poses pooled: ranked by Vina score, a pose within
  1 Å RMSD of a better one dropped, ``--poses`` kept. With ``--ranking ad4`` the
  poses kept are then ranked by AutoDock4 score (:mod:`remyfold.dock.ad4_ranking`)
  and also carry ``ad4_score`` and ``vina_rank``;
- ``.complex.pdb``: the receptor's protein with the top pose as residue ``LIG``
  (chain ``Z``);
- ``.dock.json``: the pair's record (box, pocket and lining residues of the top
  pose, every docked pocket with its box and best score, scores, the ligand's
  ionisation (``ligand_prep``: the SMILES docked, the groups charged), the
  ``request``: inputs, site choice, search, receptor and ligand preparation settings,
  remyfold/Vina/Meeko/RDKit/PDBFixer/OpenMM versions; whether independent
  searches agree; receptor residues excluded), written last: a pair whose
  record holds the same request is finished and skipped on a rerun; a rerun with
  other settings redoes it.

``dock_summary.tsv`` (receptor, ligand, pocket, pose rank, Vina score, pocket
mean pLDDT, AutoDock4 score with ``--ranking ad4``) is rebuilt from every record
at the end. All files are written atomically. Ligands are validated and every
pair's boxes checked (:func:`plan_sites`) before any receptor is prepared.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from remyfold.dock.box import Box, box_around, check_box
from remyfold.dock.errors import DockError
from remyfold.dock.ligand import LigandSpec, ligand_3d, ligand_extent, ligand_ionisation, ligand_pdbqt
from remyfold.dock.pockets import Pocket, find_pockets
from remyfold.dock.pose_checks import check_poses, relax_hydrogens
from remyfold.dock.receptor import Receptor, load_receptor
from remyfold.dock.receptor_prep import PrepSettings, PreparedReceptor, receptor_pdbqt
from remyfold.dock.site import Site, SitePoints, resolve_site
from remyfold.dock.vina_dock import AGREEMENT_RMSD, RIVAL_KCAL, DockSettings, Pose, dock_pdbqt, pool_poses, rival_ranks
from remyfold.io.atomic import write_text_atomic

SUMMARY = "dock_summary.tsv"
SUMMARY_COLUMNS = ("receptor", "ligand", "pocket", "pose_rank", "vina_kcal_mol", "pocket_mean_plddt", "ad4_kcal_mol")


#: Pockets docked by default when the site is found automatically (``--pockets``).
DEFAULT_POCKETS = 3


@dataclass(frozen=True)
class DockJob:
    """What to dock: receptor files, ligands, where (``pocket`` = "auto" or a rank, a fixed ``box``, or a
    known ``site``: see :mod:`remyfold.dock.site`). With ``pocket="auto"`` the top ``pockets`` pockets
    (druggability order, :mod:`remyfold.dock.pockets`) are docked and the poses ranked across them."""

    receptors: tuple[Path, ...]
    ligands: tuple[LigandSpec, ...]
    out_dir: Path
    pocket: str = "auto"
    box: Box | None = None
    site: Site | None = None
    settings: DockSettings = field(default_factory=DockSettings)
    prep: PrepSettings = field(default_factory=PrepSettings)
    pockets: int = DEFAULT_POCKETS

    def __post_init__(self):
        if isinstance(self.pockets, bool) or not isinstance(self.pockets, int) or self.pockets < 1:
            raise DockError(f"--pockets {self.pockets!r}: give how many top-ranked pockets to dock (1, 2, ...)")


def run_docking(job: DockJob, progress: bool = True) -> list[dict]:
    """Dock every pair of ``job``; return the summary rows (finished pairs are read back, not redone).

    Every input is checked before any work: ligands built, the given site placed, pockets found and each
    pair's boxes chosen (:func:`plan_sites`), so a bad box or pocket rank stops the run before a receptor
    is prepared or a pair docked.
    """
    from tqdm import tqdm

    if job.settings.ranking == "ad4":
        from remyfold.dock.ad4_ranking import check_autogrid

        check_autogrid()  # before any work
    mols = {spec.name: ligand_3d(spec, job.settings.seed, job.prep.ligand_ph) for spec in job.ligands}
    receptors = [load_receptor(path) for path in job.receptors]
    _check_unique([r.name for r in receptors], "receptor")
    placed = {r.name: _place_site(job.site, r) for r in receptors} if job.site is not None else {}
    todo = [(r, spec) for r in receptors for spec in job.ligands
            if not _finished(Path(f"{_stem(job, r, spec)}.dock.json"), pair_request(job, r, spec))]
    plans = plan_sites(job, todo, mols, placed)
    job.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="remyfold-dock-") as scratch:
        prepared: dict[str, tuple[Path, PreparedReceptor]] = {}
        for receptor, spec in tqdm(todo, desc="docking", unit="pair", disable=not progress):
            if receptor.name not in prepared:
                prep = receptor_pdbqt(receptor, job.prep)
                prepared[receptor.name] = (Path(scratch) / f"{receptor.name}.pdbqt", prep)
                prepared[receptor.name][0].write_text(prep.pdbqt)
            details = placed[receptor.name].details if job.site is not None else None
            dock_pair(job, receptor, prepared[receptor.name], spec, mols[spec.name],
                      (plans[(receptor.name, spec.name)], details))
    rows = summary_rows(job.out_dir, [r.name for r in receptors], [s.name for s in job.ligands])
    write_summary(job.out_dir, rows)
    return rows


def plan_sites(
    job: DockJob, todo: list[tuple[Receptor, LigandSpec]], mols: dict, placed: dict[str, SitePoints]
) -> dict[tuple[str, str], list[tuple[Box, Pocket | None]]]:
    """The checked search boxes of every pair still to dock, keyed ``(receptor, ligand)``.

    Pockets are found once per receptor (only where the site is neither given nor boxed); each pair's boxes
    depend on its ligand's size (:func:`choose_sites`).
    """
    found: dict[str, list[Pocket] | SitePoints] = {}
    plans = {}
    for receptor, spec in todo:
        if receptor.name not in found:
            found[receptor.name] = (placed[receptor.name] if job.site is not None
                                    else [] if job.box is not None else find_pockets(receptor))
        extent = ligand_extent(mols[spec.name])
        plans[(receptor.name, spec.name)] = choose_sites(job, receptor, found[receptor.name], extent, spec.name)
    return plans


def _stem(job: DockJob, receptor: Receptor, spec: LigandSpec) -> Path:
    """The pair's output files without their suffix: ``<out>/<receptor>__<ligand>``."""
    return job.out_dir / f"{receptor.name}__{spec.name}"


def _check_unique(names: list[str], what: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise DockError(f"two {what}s are both named {name!r}; outputs would collide, rename one file")
        seen.add(name)


def _place_site(site: Site, receptor: Receptor) -> SitePoints:
    """The given site placed on the receptor (before any docking), said on stderr."""
    placed = resolve_site(site, receptor)
    print(f"{receptor.name}: site {site.option()}: {placed.description}", file=sys.stderr)
    return placed


def choose_sites(
    job: DockJob, receptor: Receptor, pockets: list[Pocket] | SitePoints, extent: float, ligand: str
) -> list[tuple[Box, Pocket | None]]:
    """The search boxes of one pair: ``job.box``, around the given site's points, around the chosen pocket,
    or (``pocket="auto"``) around each of the top ``job.pockets`` pockets."""
    if job.box is not None:
        check_box(job.box, receptor.coords, extent, ligand, receptor.name)
        return [(job.box, None)]
    if isinstance(pockets, SitePoints):
        box = box_around(pockets.points, extent)
        check_box(box, receptor.coords, extent, ligand, receptor.name)
        return [(box, None)]
    if not pockets:
        raise DockError(f"no pocket found in {receptor.name}; give --box CX,CY,CZ,SX,SY,SZ")
    if job.pocket == "auto":
        chosen = pockets[: job.pockets]
    else:
        rank = int(job.pocket)
        if rank > len(pockets):
            raise DockError(f"--pocket {rank}: {receptor.name} has only {len(pockets)} pockets (see remyfold pockets)")
        chosen = [pockets[rank - 1]]
    boxes = []
    for pocket in chosen:
        box = box_around(pocket.points, extent)
        check_box(box, receptor.coords, extent, ligand, receptor.name)
        boxes.append((box, pocket))
    return boxes


def dock_sites(rec_pdbqt: Path, lig_pdbqt: str, sites: list[tuple[Box, Pocket | None]], settings: DockSettings):
    """Dock into each site; the poses pooled across them (best first, each tagged with its pocket) and the
    per-site search results ``[(box, pocket, DockResult)]``."""
    runs = []
    for box, pocket in sites:
        result = dock_pdbqt(rec_pdbqt, lig_pdbqt, box, settings)
        tagged = [replace(p, pocket=pocket.rank if pocket is not None else None) for p in result.poses]
        runs.append((box, pocket, replace(result, poses=tagged)))
    if len(runs) == 1:
        return runs[0][2].poses, runs
    return pool_poses([p for _box, _pocket, result in runs for p in result.poses], settings.poses), runs


def dock_pair(
    job: DockJob, receptor: Receptor, prepared: tuple[Path, PreparedReceptor], spec: LigandSpec, mol,
    plan: tuple[list[tuple[Box, Pocket | None]], dict | None],
) -> dict:
    """Dock one pair into its planned sites (:func:`plan_sites`, with the given site's details or ``None``)
    and write its three files (record last)."""
    sites, site_details = plan
    rec_pdbqt, prep = prepared
    excluded_in_box = list(dict.fromkeys(r for box, _p in sites for r in _excluded_in_box(receptor, prep, box)))
    _warn_excluded(receptor, prep, excluded_in_box)
    pooled, runs = dock_sites(rec_pdbqt, ligand_pdbqt(mol, spec.name), sites, job.settings)
    relaxed = [replace(p, mol=relax_hydrogens(p.mol)) for p in pooled]
    poses, rivals = rank_poses(job.settings.ranking, rec_pdbqt, relaxed, runs)
    checks = check_poses([p.mol for p in poses], receptor.pdb)
    box, pocket, result = next(run for run in runs if run[1] is None or run[1].rank == poses[0].pocket)
    _warn_disagreement(receptor, spec, result)
    _warn_rivals(receptor, spec, rivals, poses, job.settings.ranking)
    stem = _stem(job, receptor, spec)
    write_text_atomic(f"{stem}.poses.sdf", poses_sdf(poses, receptor.name, spec.name, _site_label(job), checks))
    write_text_atomic(f"{stem}.complex.pdb", complex_pdb(receptor, poses[0]))
    lining = pocket.residues if pocket is not None else receptor.lining_residues(box.centre, min(box.size) / 2)
    record = {
        "receptor": receptor.name,
        "receptor_path": str(receptor.path),
        "ligand": spec.name,
        "smiles": spec.smiles,
        "ligand_prep": ligand_ionisation(spec, job.prep.ligand_ph),
        "pocket": str(pocket.rank) if pocket is not None else _site_label(job),
        "box": {"centre": list(box.centre), "size": list(box.size)},
        "site": site_details,
        "pocket_residues": [f"{c}:{receptor.residue_names[(c, n, i)]}{n}{i}" for c, n, i in lining],
        "pocket_mean_plddt": pocket.mean_plddt if pocket is not None else receptor.mean_plddt(lining),
        "pockets_docked": [_docked_pocket(receptor, p, b, r) for b, p, r in runs if p is not None],
        "settings": job.settings.as_dict(),
        "request": pair_request(job, receptor, spec),
        "searches": result.as_dict(),
        "top_pose": {"clear": not rivals, "rival_ranks": rivals, "margin_kcal_mol": RIVAL_KCAL,
                     "rival_rmsd": AGREEMENT_RMSD, "ranking": job.settings.ranking},
        "receptor_prep": {**prep.as_dict(), "excluded_residues_in_box": excluded_in_box},
        "poses": [_pose_entry(job, p, check) for p, check in zip(poses, checks)],
    }
    write_text_atomic(f"{stem}.dock.json", json.dumps(record, indent=1) + "\n")
    return record


def rank_poses(ranking: str, rec_pdbqt: Path, poses: list[Pose], runs: list) -> tuple[list[Pose], list[int]]:
    """The pooled poses (Vina's order) in the order of ``ranking``, and the ranks of the top pose's rivals.

    ``"vina"``: as they are, rivals by :func:`~remyfold.dock.vina_dock.rival_ranks`; ``"ad4"``: by
    AutoDock4 score, each pose scored in the box it was docked in (:mod:`remyfold.dock.ad4_ranking`).
    """
    if ranking == "vina":
        return poses, rival_ranks(poses)
    from remyfold.dock.ad4_ranking import ad4_scores, rank_by_ad4

    boxes = {(pocket.rank if pocket is not None else None): box for box, pocket, _result in runs}
    return rank_by_ad4(poses, ad4_scores(rec_pdbqt, [p.mol for p in poses], [boxes[p.pocket] for p in poses]))


def _pose_entry(job: DockJob, pose: Pose, check: dict) -> dict:
    """One pose in the record; ranked by AutoDock4, with its AutoDock4 score and its rank by Vina."""
    entry = {"rank": pose.rank, "vina_kcal_mol": pose.score, "seed": pose.seed, "pocket": _pose_label(job, pose),
             "posebusters": check}
    if pose.ad4 is not None:
        entry |= {"ad4_kcal_mol": pose.ad4, "vina_rank": pose.vina_rank}
    return entry


def _site_label(job: DockJob) -> str:
    """``site`` or ``box`` for a given site; empty for pockets (each pose then names its own)."""
    return "site" if job.site is not None else "box" if job.box is not None else ""


def _pose_label(job: DockJob, pose: Pose) -> str:
    """The pocket rank a pose was docked in, or ``site``/``box``."""
    return str(pose.pocket) if pose.pocket is not None else _site_label(job)


def _docked_pocket(receptor: Receptor, pocket: Pocket, box: Box, result) -> dict:
    """One docked pocket in the record: its description, box, best score and search agreement."""
    return {**pocket.as_dict(receptor), "box": {"centre": list(box.centre), "size": list(box.size)},
            "best_vina_kcal_mol": result.poses[0].score, "searches": result.as_dict()}


def pair_request(job: DockJob, receptor: Receptor, spec: LigandSpec) -> dict:
    """What a pair's result depends on: inputs, site choice, search and preparation settings, versions.

    A rerun whose request differs from the stored record's redoes the pair (JSON-normalised for comparison).
    """
    request = {
        "receptor_path": str(receptor.path),
        "ligand": spec.smiles if spec.smiles is not None else str(spec.sdf),
        "site": _site_request(job),
        "search": job.settings.as_dict(),
        "receptor_prep": job.prep.as_dict(),
        "ligand_prep": job.prep.ligand_request(),
        "versions": software_versions(),
    }
    return json.loads(json.dumps(request))


def _site_request(job: DockJob) -> dict:
    """The site choice of a request: the given site (with its file's digest), the box, or the pocket."""
    if job.site is not None:
        return job.site.request()
    if job.box is not None:
        return {"box": [*job.box.centre, *job.box.size]}
    if job.pocket == "auto":
        return {"pocket": "auto", "pockets": job.pockets, "ranking": "druggability"}
    return {"pocket": job.pocket, "ranking": "druggability"}


def software_versions() -> dict:
    """Versions of remyfold and the docking stack (``"not installed"`` where absent)."""
    from importlib.metadata import PackageNotFoundError, version

    from remyfold._version import __version__

    versions = {"remyfold": __version__}
    for name in ("vina", "meeko", "rdkit", "pdbfixer", "openmm", "pyKVFinder"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _finished(record_path: Path, request: dict) -> bool:
    """Whether the pair's record exists and was made with the same request (a damaged record is redone)."""
    try:
        return json.loads(record_path.read_text()).get("request") == request
    except (OSError, ValueError, AttributeError):
        return False


def _warn_disagreement(receptor: Receptor, spec: LigandSpec, result) -> None:
    """One stderr line when independent searches' top poses are farther apart than the agreement RMSD."""
    if not result.searches_agree:
        rmsd = ", ".join(f"{v:.1f}" for v in result.top_rmsd)
        print(f"warning: {receptor.name} × {spec.name}: the independent searches' top poses disagree "
              f"(RMSD to the first search's top pose: {rmsd} Å > {result.as_dict()['agreement_rmsd']} Å); "
              "the top pose is uncertain: raise --exhaustiveness or give the site", file=sys.stderr)


def _warn_rivals(receptor: Receptor, spec: LigandSpec, rivals: list[int], poses: list[Pose], ranking: str) -> None:
    """One stderr line when other binding modes score within :data:`RIVAL_KCAL` of the top pose, or (ranked
    by AutoDock4) Vina's and AutoDock4's scores do not agree on the top pose's binding mode."""
    if rivals and ranking == "ad4":
        print(f"warning: {receptor.name} × {spec.name}: the top pose is not clear: pose(s) "
              f"{', '.join(map(str, rivals))} lie more than {AGREEMENT_RMSD:g} Å from it, and Vina's and AutoDock4's "
              "scores do not agree on one binding mode: inspect them all", file=sys.stderr)
    elif rivals:
        gap = max(p.score for p in poses if p.rank in rivals) - poses[0].score
        print(f"warning: {receptor.name} × {spec.name}: the top pose is not clear: pose(s) "
              f"{', '.join(map(str, rivals))} lie more than {AGREEMENT_RMSD:g} Å from it and score within "
              f"{gap:.2f} kcal/mol of it, which Vina's score does not separate: inspect them all", file=sys.stderr)


def _excluded_in_box(receptor: Receptor, prep: PreparedReceptor, box: Box) -> list[str]:
    """The excluded residues with a heavy atom inside the search box."""
    inside = box.contains(receptor.coords)
    touching = {key for key, hit in zip(receptor.residues, inside) if hit}
    return [label for label, key in zip(prep.excluded, prep.excluded_keys) if key in touching]


def _warn_excluded(receptor: Receptor, prep: PreparedReceptor, in_box: list[str]) -> None:
    """One stderr line when receptor preparation excluded residues (and whether they touch the box)."""
    if not prep.excluded:
        return
    where = f"; {len(in_box)} of them touch the search box ({', '.join(in_box)})" if in_box else "; none in the box"
    print(f"warning: receptor {receptor.name}: {len(prep.excluded)} residue(s) excluded (no Meeko template, or not buildable): "
          f"{', '.join(prep.excluded)}{where}", file=sys.stderr)


POSE_PROPERTIES = ("receptor", "ligand", "pocket", "pose_rank", "vina_score", "posebusters_passed")
AD4_PROPERTIES = ("ad4_score", "vina_rank")  # ranked by AutoDock4 only


def poses_sdf(poses: list[Pose], receptor: str, ligand: str, site: str, checks: list[dict]) -> str:
    """SDF text of the poses with their scores, pockets and PoseBusters verdicts as properties, written by
    ``SDWriter`` (``pocket``: the rank of the pocket the pose was docked in, else ``site`` or ``box``; ranked
    by AutoDock4, also ``ad4_score`` and ``vina_rank``)."""
    import io

    from rdkit import Chem

    buffer = io.StringIO()
    writer = Chem.SDWriter(buffer)
    by_ad4 = any(pose.ad4 is not None for pose in poses)
    writer.SetProps(list(POSE_PROPERTIES + AD4_PROPERTIES if by_ad4 else POSE_PROPERTIES))
    for pose, check in zip(poses, checks):
        mol = Chem.Mol(pose.mol)
        mol.SetProp("_Name", f"{ligand} pose {pose.rank} in {receptor}")
        pocket = str(pose.pocket) if pose.pocket is not None else site
        values = (receptor, ligand, pocket, str(pose.rank), f"{pose.score:.3f}", "yes" if check["passed"] else "no")
        if by_ad4:
            values += (f"{pose.ad4:.3f}", str(pose.vina_rank))
        for key, value in zip(POSE_PROPERTIES + AD4_PROPERTIES, values):
            mol.SetProp(key, value)
        writer.write(mol)
    writer.close()
    return buffer.getvalue()


def complex_pdb(receptor: Receptor, pose: Pose) -> str:
    """The receptor protein and the pose's heavy atoms as residue ``LIG`` 1 of chain ``Z``, written by gemmi."""
    import gemmi

    structure = receptor.protein.structure.clone()
    ligand = gemmi.Residue()
    ligand.name, ligand.het_flag, ligand.seqid = "LIG", "H", gemmi.SeqId(1, " ")
    positions = pose.mol.GetConformer().GetPositions()
    counts: dict[str, int] = {}
    for atom in pose.mol.GetAtoms():
        if atom.GetAtomicNum() == 1:
            continue
        record = gemmi.Atom()
        record.element = gemmi.Element(atom.GetSymbol())
        counts[atom.GetSymbol()] = counts.get(atom.GetSymbol(), 0) + 1
        record.name = f"{atom.GetSymbol().upper()}{counts[atom.GetSymbol()]}"[:4]
        record.pos = gemmi.Position(*positions[atom.GetIdx()])
        record.occ = 1.0
        ligand.add_atom(record)
    chain = gemmi.Chain("Z")
    chain.add_residue(ligand)
    structure[0].add_chain(chain)
    structure.setup_entities()
    return structure.make_pdb_string(gemmi.PdbWriteOptions(minimal=True))


def summary_rows(out_dir: Path, receptors: list[str], ligands: list[str]) -> list[dict]:
    """Rows of ``dock_summary.tsv`` from the records of the given pairs, in job order."""
    rows = []
    for receptor in receptors:
        for ligand in ligands:
            record = json.loads((out_dir / f"{receptor}__{ligand}.dock.json").read_text())
            for pose in record["poses"]:
                rows.append({"receptor": receptor, "ligand": ligand, "pocket": pose.get("pocket", record["pocket"]),
                             "pose_rank": pose["rank"], "vina_kcal_mol": pose["vina_kcal_mol"],
                             "pocket_mean_plddt": record["pocket_mean_plddt"], "ad4_kcal_mol": pose.get("ad4_kcal_mol")})
    return rows


def write_summary(out_dir: Path, rows: list[dict]) -> None:
    """Write ``dock_summary.tsv`` (empty pLDDT cell for experimental structures, empty AutoDock4 cell for
    poses ranked by Vina)."""
    lines = ["\t".join(SUMMARY_COLUMNS)]
    for row in rows:
        plddt, ad4 = row["pocket_mean_plddt"], row.get("ad4_kcal_mol")
        lines.append("\t".join([row["receptor"], row["ligand"], str(row["pocket"]), str(row["pose_rank"]),
                                f"{row['vina_kcal_mol']:.3f}", "" if plddt is None else f"{plddt:.1f}",
                                "" if ad4 is None else f"{ad4:.3f}"]))
    write_text_atomic(out_dir / SUMMARY, "\n".join(lines) + "\n")
