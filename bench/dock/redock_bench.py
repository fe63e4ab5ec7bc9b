"""Redocking benchmark: each crystal ligand docked from its SMILES by ``remyfold dock``'s own path.

For every complex of ``complexes.py`` (checked: the SMILES gives the public
InChIKey, or the crystal residue's own), every seed and both modes:

- ``site``: the site given as the crystal ligand (``--site-ligand``; the box
  is built around its heavy atoms, its coordinates never start the search);
- ``pocket``: the site found automatically (``--pocket auto``: the top
  ``--pockets`` pockets by druggability, poses ranked across them);

the receptor's chains are written to a PDB file (crystal ligand, waters and
cofactors left out) and docked with :func:`remyfold.dock.runner.run_docking`
(receptor prepared by PDBFixer/OpenMM + Meeko, Vina with the default search
settings, hydrogens relaxed, PoseBusters per pose). Per run: the symmetry-aware
heavy-atom RMSD of the top pose and of the best of the poses to the crystal
ligand, whether the top pose passes PoseBusters, whether ``remyfold dock`` called
the top pose clear or warned that it is uncertain (``top_clear``; older rows are
filled by ``fill_top_clear.py``), the receptor residues excluded by preparation
(must be 0), seconds. Success: top pose ≤ 2 Å. ``redock_report.py`` writes
``redock.md`` from the table.

Every pose of every run goes to ``bench/results/redock_poses.tsv`` (rank, the search seed that
found it, its pocket, Vina score, RMSD to the crystal ligand, PoseBusters), so that other rankings
of the same poses can be judged without docking again; ``--keep DIR`` also keeps each run's
prepared receptor and output folder there (for rescoring). ``--ranking ad4`` runs ``remyfold dock
--ranking ad4`` (the same searches, the poses ranked by AutoDock4) into tables of its own
(``redock-ad4_runs.tsv``, ``redock-ad4_poses.tsv``, ``redock-ad4.md``; AutoDock4 score and Vina
rank added).

Rows are appended to ``bench/results/redock_runs.tsv`` as each run ends; a
rerun skips the (complex, mode, seed) rows already there with the same
settings, so an interrupted run resumes; ``--redo NAME ...`` runs those complexes
again after a change that affects them, each finished run replacing its old run
and pose rows (old rows stay until replaced). ``--deadline HH:MM`` (UTC) starts no
run after the next time the clock reads HH:MM; ``redock.md`` then says the table is partial. Runs go
seed by seed (all complexes with the first seed, smallest ligand first, each in both
modes, then the next seed), so a partial table covers as many complexes as possible. Needs
``remyfold[dock]`` and the complexes' packages (see ``complexes.py``). Run from
the repo root:

    .venv/bin/python bench/dock/redock_bench.py [--seeds 42 142 242] [--modes site pocket] [--deadline 21:55] [--keep DIR]
    .venv/bin/python bench/dock/redock_bench.py --only 3MHT --redo 3MHT --seeds 42 --modes site
    .venv/bin/python bench/dock/redock_bench.py --report   # rewrite redock.md from the TSV
    .venv/bin/python bench/dock/redock_bench.py --ranking ad4 --modes site --seeds 42 142 242 --deadline 21:35
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from complexes import EXPECTED_INCHIKEYS, all_complexes, crystal_ligand, ligand_smiles  # noqa: E402
from redock_report import MODES, write_report  # noqa: E402

from remyfold.dock.ligand import LigandSpec  # noqa: E402
from remyfold.dock.receptor import load_receptor  # noqa: E402
from remyfold.dock.redock import heavy_atom_rmsd  # noqa: E402
from remyfold.dock.runner import DEFAULT_POCKETS, DockJob, run_docking  # noqa: E402
from remyfold.dock.site import Site  # noqa: E402
from remyfold.dock.vina_dock import RANKINGS, DockSettings  # noqa: E402
from remyfold.io.atomic import write_text_atomic  # noqa: E402

OUT = Path("bench/results")
RUNS = OUT / "redock_runs.tsv"
COLUMNS = ("name", "mode", "seed", "heavy_atoms", "top_rmsd", "best_rmsd", "top_vina", "top_pocket",
           "top_posebusters", "top_clear", "excluded_residues", "seconds", "settings", "commit", "error")
POSES = OUT / "redock_poses.tsv"
SEEDS = (42, 142, 242)  # the planned seeds of every complex and mode
POSE_COLUMNS = ("name", "mode", "seed", "rank", "search_seed", "pocket", "vina", "rmsd", "posebusters", "commit")


@dataclass(frozen=True)
class Tables:
    """Where one ranking's runs go: runs table, poses table and report, and their columns."""

    runs: Path
    poses: Path
    report: Path
    columns: tuple = COLUMNS
    pose_columns: tuple = POSE_COLUMNS


#: Per ``--ranking``: Vina's order (the default) and AutoDock4's, each in its own tables so neither replaces the other.
TABLES = {"vina": Tables(RUNS, POSES, OUT / "redock.md"),
          "ad4": Tables(OUT / "redock-ad4_runs.tsv", OUT / "redock-ad4_poses.tsv", OUT / "redock-ad4.md",
                        COLUMNS + ("top_ad4", "top_vina_rank"), POSE_COLUMNS + ("ad4", "vina_rank"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--only", nargs="+", metavar="NAME", help="just these complexes")
    parser.add_argument("--deadline", metavar="HH:MM", type=_clock, help="UTC time after which no run starts")
    parser.add_argument("--report", action="store_true", help="only rewrite redock.md from the TSV")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep each run's receptor and outputs in DIR")
    parser.add_argument("--redo", nargs="+", metavar="NAME", default=[],
                        help="run these complexes again, each new run replacing its old rows")
    parser.add_argument("--ranking", choices=RANKINGS, default="vina",
                        help="remyfold dock --ranking: vina (redock.md) or ad4 (redock-ad4.md, its own tables)")
    args = parser.parse_args()
    if args.keep is not None and args.keep.exists() and not args.keep.is_dir():
        parser.error(f"--keep {args.keep} is a file; give a folder to keep the runs in")
    settings, tables = DockSettings(ranking=args.ranking), TABLES[args.ranking]
    _commit()
    complexes, missing = all_complexes()
    for option, names in (("--redo", args.redo), ("--only", args.only or [])):
        unknown = sorted(set(names) - {cx.name for cx in complexes})
        if unknown:
            parser.error(f"{option} {' '.join(unknown)}: not a complex of this benchmark; "
                         f"choose from {' '.join(cx.name for cx in complexes)}")
    complexes.sort(key=lambda cx: crystal_ligand(cx).GetNumHeavyAtoms())
    # The report always counts the whole plan: a run of a subset must not call the table complete.
    full_plan = [(seed, mode, cx) for seed in SEEDS for cx in complexes for mode in MODES]
    plan = [(seed, mode, cx) for seed, mode, cx in full_plan if seed in args.seeds and mode in args.modes
            and (not args.only or cx.name in args.only)]  # fmt: skip
    if not args.report:
        deadline = _deadline(args.deadline)
        done = {(r["name"], r["mode"], r["seed"]) for r in read_rows(tables.runs)
                if r["settings"] == _settings_key(settings)}  # fmt: skip
        for seed, mode, cx in plan:
            if (cx.name, mode, str(seed)) in done and cx.name not in args.redo:
                continue
            if deadline is not None and datetime.datetime.now(datetime.timezone.utc) >= deadline:
                print(f"deadline {args.deadline} UTC reached: no more runs started", flush=True)
                break
            row = run_or_record_error(cx, mode, seed, settings, args.keep)
            drop_rows((cx.name, mode, str(seed)), (tables.runs, tables.poses))
            for pose in row.pop("poses", []):
                append_row(pose, tables.poses, tables.pose_columns)
            append_row(row, tables.runs, tables.columns)
            print(" ".join(f"{k}={row[k]}" for k in COLUMNS[:12]), flush=True)  # up to seconds
    rows = [r for r in read_rows(tables.runs) if r["settings"] == _settings_key(settings)]
    write_report(rows, full_plan, missing, settings, tables.report,
                 vina_tops(tables.poses) if settings.ranking == "ad4" else None)
    return 0


def _clock(text: str) -> str:
    """An ``HH:MM`` time of day (argparse type): a bad one is a one-line usage error."""
    try:
        datetime.time(*(int(v) for v in text.split(":", 1)))
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a time HH:MM (UTC, 00:00 to 23:59)") from None
    if text.count(":") != 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time HH:MM (UTC, 00:00 to 23:59)")
    return text


def _deadline(text: str | None, now: datetime.datetime | None = None):
    """The next time (UTC) the clock reads ``text`` after ``now``: ``00:55`` given at 23:59 is tomorrow's."""
    if text is None:
        return None
    hour, minute = (int(v) for v in text.split(":"))
    now = now or datetime.datetime.now(datetime.timezone.utc)
    deadline = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return deadline if deadline > now else deadline + datetime.timedelta(days=1)


def _settings_key(settings: DockSettings) -> str:
    ranking = "" if settings.ranking == "vina" else f"/ranking-{settings.ranking}"
    return (f"exh{settings.exhaustiveness}/searches{settings.searches}/poses{settings.poses}"
            f"/pockets{DEFAULT_POCKETS}{ranking}")


def run_or_record_error(cx, mode: str, seed: int, settings: DockSettings, keep: Path | None = None) -> dict:
    """:func:`run_one`, or a row that records the one-line error (it counts as a failure in every rate)."""
    from remyfold.dock.errors import DockError

    start = time.perf_counter()
    try:
        return {**run_one(cx, mode, seed, settings, keep), "error": ""}
    except DockError as err:
        failed = {c: "-" for c in TABLES[settings.ranking].columns}
        return {**failed, "name": cx.name, "mode": mode, "seed": str(seed), "top_pocket": "-",
                "seconds": f"{time.perf_counter() - start:.0f}", "settings": _settings_key(settings),
                "commit": _commit(), "error": str(err).replace("\t", " ").splitlines()[0]}


def run_one(cx, mode: str, seed: int, settings: DockSettings, keep: Path | None = None) -> dict:
    """Dock one complex in one mode with one seed through ``run_docking``; measure the poses.

    Returns the run's row, with its poses' rows under ``"poses"``; ``keep``: a folder to copy the
    run's receptor and outputs into (``NAME-MODE-SEED``).
    """
    import shutil
    from dataclasses import replace

    from rdkit import Chem

    smiles = ligand_smiles(cx)
    check_smiles(cx, smiles)
    crystal = crystal_ligand(cx)
    with tempfile.TemporaryDirectory(prefix="remyfold-redock-") as scratch:
        folder = Path(scratch)
        receptor = folder / f"{cx.name}.pdb"
        receptor.write_text(load_receptor(cx.structure, chains=cx.chains, name=cx.name).pdb)
        Chem.MolToMolFile(crystal, str(folder / "crystal.sdf"))  # kept in every mode; the site only if given
        site = Site("ligand", str(folder / "crystal.sdf")) if mode == "site" else None
        job = DockJob((receptor,), (LigandSpec("ligand", smiles=smiles),), folder / "out", site=site,
                      settings=replace(settings, seed=seed))
        start = time.perf_counter()
        run_docking(job, progress=False)
        seconds = time.perf_counter() - start
        stem = folder / "out" / f"{cx.name}__ligand"
        record = json.loads(stem.with_suffix(".dock.json").read_text())
        poses = list(Chem.SDMolSupplier(str(stem.with_suffix(".poses.sdf")), removeHs=False))
        if keep is not None:
            shutil.copytree(folder, keep / f"{cx.name}-{mode}-{seed}", dirs_exist_ok=True)
    rmsds = [heavy_atom_rmsd(p, crystal) for p in poses]
    pose_rows = [{"name": cx.name, "mode": mode, "seed": str(seed), "rank": str(pose["rank"]),
                  "search_seed": str(pose["seed"]), "pocket": str(pose["pocket"]),
                  "vina": f"{pose['vina_kcal_mol']:.3f}", "rmsd": f"{rmsd:.2f}",
                  "posebusters": "yes" if pose["posebusters"]["passed"] else "no", "commit": _commit(),
                  **_ad4_cells(pose, "ad4", "vina_rank")} for pose, rmsd in zip(record["poses"], rmsds)]  # fmt: skip
    return {"poses": pose_rows, "name": cx.name, "mode": mode, "seed": str(seed), "heavy_atoms": str(crystal.GetNumHeavyAtoms()),
            "top_rmsd": f"{rmsds[0]:.2f}", "best_rmsd": f"{min(rmsds):.2f}",
            "top_vina": f"{record['poses'][0]['vina_kcal_mol']:.2f}", "top_pocket": record["poses"][0]["pocket"],
            "top_posebusters": "yes" if record["poses"][0]["posebusters"]["passed"] else "no",
            "top_clear": "yes" if record["top_pose"]["clear"] else "no",
            "excluded_residues": str(len(record["receptor_prep"]["excluded_residues"])),
            "seconds": f"{seconds:.0f}", "settings": _settings_key(settings), "commit": _commit(),
            **_ad4_cells(record["poses"][0], "top_ad4", "top_vina_rank")}


def vina_tops(poses: Path) -> dict:
    """Per run ``(name, mode, seed)`` of a poses table ranked by AutoDock4: the RMSD of the pose Vina ranked first."""
    return {(p["name"], p["mode"], p["seed"]): p["rmsd"] for p in read_rows(poses) if p.get("vina_rank") == "1"}


def _ad4_cells(pose: dict, score: str, rank: str) -> dict:
    """A recorded pose's AutoDock4 score and Vina rank as table cells (none when ranked by Vina)."""
    if "ad4_kcal_mol" not in pose:
        return {}
    return {score: f"{pose['ad4_kcal_mol']:.3f}", rank: str(pose["vina_rank"])}


def check_smiles(cx, smiles: str) -> None:
    """Exit unless ``smiles`` gives the public InChIKey, or (none recorded) the crystal residue's own InChIKey.

    Also exits when the crystal ligand's bond orders contradict its coordinates (a flat "sp3"
    carbon, :func:`planar_sp3_carbons`): the molecule docked would not be the crystal's.
    """
    from rdkit import Chem

    from remyfold.dock.redock import planar_sp3_carbons

    crystal = crystal_ligand(cx)
    flat = planar_sp3_carbons(crystal)
    if flat:
        raise SystemExit(f"{cx.name}: the crystal ligand's atoms {flat} are sp3 carbons by its bond orders but flat "
                         "in its coordinates; correct its bond orders with a SMILES (complexes.SDF_CORRECTIONS)")
    key = Chem.MolToInchiKey(Chem.MolFromSmiles(smiles))
    expected = EXPECTED_INCHIKEYS.get(smiles)
    if expected is None and (cx.ligand_sdf is None or cx.smiles is not None):
        crystal = Chem.Mol(crystal)  # the crystal's atoms, bond orders from the SMILES; stereo set on a copy
        Chem.AssignStereochemistryFrom3D(crystal)
        expected = Chem.MolToInchiKey(crystal)
    if expected and key != expected:
        raise SystemExit(f"{cx.name}: SMILES gives InChIKey {key}, expected {expected}")


def _commit() -> str:
    """The commit this process started at (read once: later commits do not change the code that runs)."""
    if not _STARTED_AT:
        _STARTED_AT.append(subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                          text=True).stdout.strip())
    return _STARTED_AT[0]


_STARTED_AT: list[str] = []


def read_rows(path: Path = RUNS) -> list[dict]:
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    # rows written before a column existed lack it: "" (the report counts them apart)
    return [{"error": "", "top_clear": "", **dict(zip(lines[0].split("\t"), line.split("\t")))}
            for line in lines[1:] if line]


def append_row(row: dict, path: Path = RUNS, columns: tuple = COLUMNS) -> None:
    """Append one finished run (or pose) to ``path`` (the header first when the file is new)."""
    OUT.mkdir(parents=True, exist_ok=True)
    upgrade_header(path, columns)
    new = not path.exists()
    with path.open("a") as handle:
        if new:
            handle.write("\t".join(columns) + "\n")
        handle.write("\t".join(str(row[c]) for c in columns) + "\n")


def upgrade_header(path: Path, columns: tuple) -> None:
    """Rewrite ``path`` (atomically) with ``columns`` as its header when it was written with fewer.

    A column added later (``top_clear``) is left empty in the older rows. A header with a column
    that ``columns`` lacks is refused, so no value is ever written under the wrong column; an empty
    file gets the header.
    """
    if not path.exists():
        return
    header, *lines = path.read_text().splitlines() or [""]
    if not header:
        write_rows(path, columns, [])
        return
    old = tuple(header.split("\t"))
    if old == columns:
        return
    if not set(old) <= set(columns):
        raise SystemExit(f"{path}: its columns {old} are not among {columns}; move it aside to start a new table")
    write_rows(path, columns, [dict(zip(old, line.split("\t"))) for line in lines if line])


def write_rows(path: Path, columns: tuple, rows: list[dict]) -> None:
    """Write ``rows`` to ``path`` (atomically) under the header ``columns``; a missing value is left empty."""
    write_text_atomic(path, "".join("\t".join(row.get(c, "") for c in columns) + "\n"
                                    for row in [dict(zip(columns, columns)), *rows]))


def drop_rows(key: tuple[str, str, str], paths: tuple[Path, ...] = (RUNS, POSES)) -> None:
    """Remove the rows of one (complex, mode, seed) from the runs and poses tables (rewritten atomically)."""
    for path in paths:
        if path.exists():
            header, *lines = path.read_text().splitlines(keepends=True)
            kept = [line for line in lines if tuple(line.split("\t")[:3]) != key]
            if len(kept) != len(lines):
                write_text_atomic(path, header + "".join(kept))



if __name__ == "__main__":
    sys.exit(main())
