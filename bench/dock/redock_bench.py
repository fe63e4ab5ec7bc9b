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
ligand, whether the top pose passes PoseBusters, the receptor residues
excluded by preparation (must be 0), seconds. Success: top pose ≤ 2 Å.

Every pose of every run goes to ``bench/results/redock_poses.tsv`` (rank, the search seed that
found it, its pocket, Vina score, RMSD to the crystal ligand, PoseBusters), so that other rankings
of the same poses can be judged without docking again; ``--keep DIR`` also keeps each run's
prepared receptor and output folder there (for rescoring).

Rows are appended to ``bench/results/redock_runs.tsv`` as each run ends; a
rerun skips the (complex, mode, seed) rows already there with the same
settings, so an interrupted run resumes; ``--redo NAME ...`` runs those complexes
again after a change that affects them, each finished run replacing its old run
and pose rows (old rows stay until replaced). ``--deadline HH:MM`` (UTC) starts no
run after that time; ``redock.md`` then says the table is partial. Runs go
seed by seed (all complexes with the first seed, smallest ligand first, each in both
modes, then the next seed), so a partial table covers as many complexes as possible. Needs
``remyfold[dock]`` and the complexes' packages (see ``complexes.py``). Run from
the repo root:

    .venv/bin/python bench/dock/redock_bench.py [--seeds 42 142 242] [--modes site pocket] [--deadline 21:55] [--keep DIR]
    .venv/bin/python bench/dock/redock_bench.py --only 3MHT --redo 3MHT --seeds 42 --modes site
    .venv/bin/python bench/dock/redock_bench.py --report   # rewrite redock.md from the TSV
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from complexes import EXPECTED_INCHIKEYS, all_complexes, crystal_ligand, ligand_smiles  # noqa: E402

from remyfold.dock.ligand import LigandSpec  # noqa: E402
from remyfold.dock.receptor import load_receptor  # noqa: E402
from remyfold.dock.redock import heavy_atom_rmsd  # noqa: E402
from remyfold.dock.runner import DEFAULT_POCKETS, DockJob, run_docking  # noqa: E402
from remyfold.dock.site import Site  # noqa: E402
from remyfold.dock.vina_dock import DockSettings  # noqa: E402
from remyfold.io.atomic import write_text_atomic  # noqa: E402

OUT = Path("bench/results")
RUNS = OUT / "redock_runs.tsv"
COLUMNS = ("name", "mode", "seed", "heavy_atoms", "top_rmsd", "best_rmsd", "top_vina", "top_pocket",
           "top_posebusters", "excluded_residues", "seconds", "settings", "commit", "error")
MODES = ("site", "pocket")
POSES = OUT / "redock_poses.tsv"
#: What a row's numbers cannot say by themselves, printed under the table: (name, mode, seed, commit) -> note.
NOTES = {
    ("4JSV-B", "site", "142", "1a76184"): "its seconds include about 15 minutes with the process stopped (SIGSTOP) "
                                          "while a CPU benchmark ran alone; the poses are unaffected",
    ("1HPV", "site", "142", "1a76184"): "its seconds include about 7 minutes with the process stopped (SIGSTOP) "
                                        "while a CPU benchmark ran alone; the poses are unaffected",
}
#: Changes that affect some complexes' earlier rows: they are rerun with ``--redo`` (each new run replacing its rows).
RERUNS = [
    "3MHT and 1HPV were rerun (`--redo`) with the code of 5c04679 and later: before it, 3MHT's SAH (the ligand "
    "redocked) stayed in the receptor file as a protein residue (its homocysteine has N, CA and C), so PoseBusters "
    "saw every pose overlap it and the pocket finder saw the site filled; 1HPV's carbamate C(=O)-O bond was "
    "rotatable and its top pose failed PoseBusters' internal-clash check.",
    "1S3V was rerun at dd0188a: before it, its ligand was docked as posebusters' SDF gives it, with the "
    "pyrimidine C2 an sp3 CH that the file's own coordinates have flat (a wrong molecule); it is now the "
    "aromatic 2,4-diaminotetrahydroquinazoline. The other complexes' rows come from earlier commits: the changes "
    "to docking since 7d51e5f that alter a run's input (5c04679 and d63a323: amino-acid-like hetero groups, ester "
    "and carbamate bonds; dd0188a: this correction) touch none of their receptors or ligands.",
]
SEEDS = (42, 142, 242)  # the planned seeds of every complex and mode
POSE_COLUMNS = ("name", "mode", "seed", "rank", "search_seed", "pocket", "vina", "rmsd", "posebusters", "commit")

PUBLISHED = [
    "## Beside Vina's published rates", "",
    "- Trott & Olson, J. Comput. Chem. 31:455-461, 2010, doi:10.1002/jcc.21334 "
    "(https://pmc.ncbi.nlm.nih.gov/articles/PMC3041641/): Vina against AutoDock 4.0.1 on the 190 complexes of "
    "AutoDock 4's training set; rigid receptor, ligand start randomised, a box around the crystal ligand "
    "(its extent + 10 Å, + 5 Å to a random side, at least 22.5 Å), success = RMSD < 2 Å by the paper's own "
    "symmetry-aware heavy-atom RMSD. The text gives the rates on the 116 of those complexes that are not in "
    "PDBbind (Vina's training set): **80 % for Vina, 53 % for AutoDock 4**. The rates on all 190 are only drawn "
    "in its Figure 4 and are not quoted here: that chart could not be read as numbers (read from the full text "
    "of the published article).",
    "- Eberhardt, Santos-Martins, Tillack & Forli (AutoDock Vina 1.2.0), J. Chem. Inf. Model. 61:3891-3898, 2021, "
    "doi:10.1021/acs.jcim.1c00203: only its abstract and introduction could be read here; they give no redocking "
    "success rate, so none is quoted.",
    "- Buttenschoen, Morris & Deane (PoseBusters), Chem. Sci. 15:3130-3139, 2024 "
    "(https://pmc.ncbi.nlm.nih.gov/articles/PMC10901501/): Vina is benchmarked on the Astex Diverse (85) and "
    "PoseBusters (428) sets; its rates are drawn in the paper's figures, and only the abstract of a public copy "
    "could be read here. "
    "**Second-hand, not checked against the paper:** a user quoting it in the PoseBusters issue tracker "
    "(https://github.com/maabuu/posebusters/issues/31) gives Vina's PoseBusters-set rate (top pose ≤ 2 Å) as "
    "\"more than 50 % (close to 60 %)\", under the paper's protocol as that user quotes it from the SI: a 25 Å "
    "box centred on the crystal ligand, exhaustiveness 32, 40 modes. The same user reports under 30 % with the "
    "vina executable and over 50 % with the Python bindings (https://github.com/ccsb-scripps/AutoDock-Vina/issues/295).",
    "- Conditions differ: there the box is built around the crystal ligand (the pocket is given); here the pocket "
    "is given (mode site) or found automatically (mode pocket), cofactors and waters are removed and the set is small, so the "
    "rate above is an indication, not a benchmark figure.",
]


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
    args = parser.parse_args()
    if args.keep is not None and args.keep.exists() and not args.keep.is_dir():
        parser.error(f"--keep {args.keep} is a file; give a folder to keep the runs in")
    settings = DockSettings()
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
        done = {(r["name"], r["mode"], r["seed"]) for r in read_rows() if r["settings"] == _settings_key(settings)}
        for seed, mode, cx in plan:
            if (cx.name, mode, str(seed)) in done and cx.name not in args.redo:
                continue
            if deadline is not None and datetime.datetime.now(datetime.timezone.utc) >= deadline:
                print(f"deadline {args.deadline} UTC reached: no more runs started", flush=True)
                break
            row = run_or_record_error(cx, mode, seed, settings, args.keep)
            drop_rows((cx.name, mode, str(seed)))
            for pose in row.pop("poses", []):
                append_row(pose, POSES, POSE_COLUMNS)
            append_row(row)
            print(" ".join(f"{k}={row[k]}" for k in COLUMNS[:11]), flush=True)
    write_report(read_rows(), full_plan, missing, settings)
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


def _deadline(text: str | None):
    if text is None:
        return None
    hour, minute = (int(v) for v in text.split(":"))
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.replace(hour=hour, minute=minute, second=0, microsecond=0)


def _settings_key(settings: DockSettings) -> str:
    return (f"exh{settings.exhaustiveness}/searches{settings.searches}/poses{settings.poses}"
            f"/pockets{DEFAULT_POCKETS}")


def run_or_record_error(cx, mode: str, seed: int, settings: DockSettings, keep: Path | None = None) -> dict:
    """:func:`run_one`, or a row that records the one-line error (it counts as a failure in every rate)."""
    from remyfold.dock.errors import DockError

    start = time.perf_counter()
    try:
        return {**run_one(cx, mode, seed, settings, keep), "error": ""}
    except DockError as err:
        failed = {c: "-" for c in COLUMNS}
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
        site = None
        if mode == "site":
            Chem.MolToMolFile(crystal, str(folder / "crystal.sdf"))
            site = Site("ligand", str(folder / "crystal.sdf"))
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
                  "posebusters": "yes" if pose["posebusters"]["passed"] else "no", "commit": _commit()}
                 for pose, rmsd in zip(record["poses"], rmsds)]  # fmt: skip
    return {"poses": pose_rows, "name": cx.name, "mode": mode, "seed": str(seed), "heavy_atoms": str(crystal.GetNumHeavyAtoms()),
            "top_rmsd": f"{rmsds[0]:.2f}", "best_rmsd": f"{min(rmsds):.2f}",
            "top_vina": f"{record['poses'][0]['vina_kcal_mol']:.2f}", "top_pocket": record["poses"][0]["pocket"],
            "top_posebusters": "yes" if record["poses"][0]["posebusters"]["passed"] else "no",
            "excluded_residues": str(len(record["receptor_prep"]["excluded_residues"])),
            "seconds": f"{seconds:.0f}", "settings": _settings_key(settings), "commit": _commit()}


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


def read_rows() -> list[dict]:
    if not RUNS.exists():
        return []
    lines = RUNS.read_text().splitlines()
    return [{"error": "", **dict(zip(lines[0].split("\t"), line.split("\t")))} for line in lines[1:] if line]


def append_row(row: dict, path: Path = RUNS, columns: tuple = COLUMNS) -> None:
    """Append one finished run (or pose) to ``path`` (the header first when the file is new)."""
    OUT.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a") as handle:
        if new:
            handle.write("\t".join(columns) + "\n")
        handle.write("\t".join(str(row[c]) for c in columns) + "\n")


def drop_rows(key: tuple[str, str, str], paths: tuple[Path, ...] = (RUNS, POSES)) -> None:
    """Remove the rows of one (complex, mode, seed) from the runs and poses tables (rewritten atomically)."""
    for path in paths:
        if path.exists():
            header, *lines = path.read_text().splitlines(keepends=True)
            kept = [line for line in lines if tuple(line.split("\t")[:3]) != key]
            if len(kept) != len(lines):
                write_text_atomic(path, header + "".join(kept))


def _rates(rows: list[dict]) -> str:
    """``top-1 ≤ 2 Å | any pose ≤ 2 Å | top pose PoseBusters-valid | mean s`` cells over ``rows``."""
    n = len(rows)
    if not n:
        return "– | – | – | –"
    top = sum(not r["error"] and float(r["top_rmsd"]) <= 2.0 for r in rows)
    best = sum(not r["error"] and float(r["best_rmsd"]) <= 2.0 for r in rows)
    valid = sum(r["top_posebusters"] == "yes" for r in rows)
    seconds = sum(float(r["seconds"]) for r in rows) / n
    return (f"{top}/{n} ({100 * top / n:.0f} %) | {best}/{n} ({100 * best / n:.0f} %) | "
            f"{valid}/{n} ({100 * valid / n:.0f} %) | {seconds:.0f}")


def write_report(rows: list[dict], plan: list, missing: list[str], settings: DockSettings) -> None:
    """``redock.md``: rates per mode, per-run table, whether every planned run is in the TSV."""
    key = _settings_key(settings)
    rows = [r for r in rows if r["settings"] == key]
    planned = {(cx.name, mode, str(seed)) for seed, mode, cx in plan}
    have = {(r["name"], r["mode"], r["seed"]) for r in rows}
    status = "complete" if planned <= have else f"PARTIAL: {len(planned & have)} of {len(planned)} planned runs"
    commits = sorted({r["commit"] for r in rows})
    md = [
        "# Redocking: crystal ligands docked from SMILES, site given and pocket found", "",
        f"**{status}** · {datetime.date.today()} · commits {', '.join(commits) or '-'} · {platform.machine()} CPU "
        f"(2 cores shared with other jobs, `nice -n 10`) · `remyfold dock` defaults: exhaustiveness "
        f"{settings.exhaustiveness}, {settings.searches} searches, {settings.poses} poses, "
        f"{DEFAULT_POCKETS} pockets in pocket mode · generated by `bench/dock/redock_bench.py`", "",
        "| mode | runs | top pose ≤ 2 Å | any pose ≤ 2 Å | top pose PoseBusters-valid | mean s |",
        "|---|---|---|---|---|---|",
    ]
    for mode in MODES:
        these = [r for r in rows if r["mode"] == mode]
        md.append(f"| {mode} | {len(these)} | {_rates(these)} |")
    excluded = sum(int(r["excluded_residues"]) for r in rows if not r["error"])
    errors = [r for r in rows if r["error"]]
    md += ["", f"Receptor residues excluded by preparation, all runs that docked: {excluded}. Runs that stopped "
           f"with an error (counted as failures above): {len(errors)}."]
    md += [f"- {r['name']} {r['mode']} seed {r['seed']}: {r['error']}" for r in errors]
    md += ["",
           "| complex | mode | seed | heavy atoms | top RMSD (Å) | best RMSD (Å) | Vina (kcal/mol) | top pose's pocket "
           "| PoseBusters | excluded | s | commit |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append("| " + " | ".join(r[c] for c in COLUMNS if c not in ("settings", "error")) + " |")
    md += [""] + [f"- {' '.join(key[:3])} ({key[3]}): {note}" for key, note in NOTES.items()
                  if any((r["name"], r["mode"], r["seed"], r["commit"]) == key for r in rows)]
    md += [""] + [f"- {note}" for note in RERUNS]
    md += [""] + [f"- not run: {m}" for m in missing] + [""] + PUBLISHED
    (OUT / "redock.md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    sys.exit(main())
