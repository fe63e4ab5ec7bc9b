"""Other rankings of the redocking benchmark's poses, judged without docking again (issue 19).

``remyfold dock`` ranks its poses by the Vina score. In the redocking benchmark
(``redock_bench.py``) most misses with the site given are ranking misses: a pose within 2 Å of the
crystal ligand was among the nine returned, below a wrong one. This script takes the runs kept by
``redock_bench.py --keep DIR`` (receptor, crystal ligand, poses, record) and scores every pose again
with the other empirical function that AutoDock Vina ships, Vinardo (Quiroga & Villarreal,
PLoS ONE 11:e0155183, 2016, doi:10.1371/journal.pone.0155183), in the same box on the same prepared
receptor:

* ``vina``: the docking's own order (rank 1 first);
* ``vinardo``: the best Vinardo score of the pose as docked (``score_only``);
* ``vinardo-local``: the best Vinardo score after Vinardo's local optimisation of each pose (the
  RMSD is then that of the optimised pose);
* ``rank-sum``: the smallest sum of the pose's Vina and Vinardo ranks (ties: the Vina rank).

For each rule and run it records the chosen pose's heavy-atom RMSD to the crystal ligand
(symmetry-aware, :func:`remyfold.dock.redock.heavy_atom_rmsd`), and counts top-1 ≤ 2 Å per rule.
It also asks ``remyfold dock``'s own question of each run, whether the top pose is clear
(:func:`remyfold.dock.vina_dock.rival_ranks`: no other binding mode scores within
:data:`~remyfold.dock.vina_dock.RIVAL_KCAL` of it), at that margin and at 0.5 and 1.0 kcal/mol,
and counts how often a clear top pose, and an unclear one, is right.
It changes nothing in ``remyfold dock``; a rule is adopted there only if it wins on runs it was not
chosen on. Needs ``remyfold[dock]``. Run from the repo root:

    .venv/bin/python bench/dock/pose_rescoring.py --kept /work/redock_keep \\
        --out bench/results/redock-rescoring.json --markdown bench/results/redock-rescoring.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
from pathlib import Path

from remyfold.dock.box import Box
from remyfold.dock.extra import require
from remyfold.dock.ligand import ligand_pdbqt
from remyfold.dock.receptor import load_receptor
from remyfold.dock.receptor_prep import receptor_pdbqt
from remyfold.dock.redock import heavy_atom_rmsd
from remyfold.dock.vina_dock import RIVAL_KCAL, Pose, rival_ranks

RULES = ("vina", "vinardo", "vinardo-local", "rank-sum")
MARGINS = (RIVAL_KCAL, 0.5, 1.0)  # kcal/mol: the default rival margin and two wider ones
SUCCESS = 2.0  # Å


def run_dirs(kept: Path) -> list[Path]:
    """Kept site-given runs (``NAME-site-SEED`` folders holding ``out/*.dock.json``), sorted by name.

    Pocket-mode runs are left out: their poses come from several pockets' boxes, and a rescoring in
    one box would not score them alike.
    """
    return sorted(d for d in kept.iterdir() if d.is_dir() and d.name.rsplit("-", 2)[-2:-1] == ["site"]
                  and list((d / "out").glob("*.dock.json")))


def read_kept(run: Path) -> tuple[dict, list, object, Path]:
    """A kept run's record, poses, crystal ligand and receptor file; :class:`InputError` naming what is wrong."""
    from remyfold.errors import InputError

    Chem = require("rdkit.Chem")
    if len(run.name.rsplit("-", 2)) != 3:
        raise InputError(f"{run}: a kept run's folder is named NAME-MODE-SEED (as redock_bench.py --keep names it)")
    record_path = next((run / "out").glob("*.dock.json"))
    try:
        record = json.loads(record_path.read_text())
        sdf = record_path.with_name(record_path.name.replace(".dock.json", ".poses.sdf"))
        poses = list(Chem.SDMolSupplier(str(sdf), removeHs=False)) if sdf.is_file() else []
        crystal = Chem.MolFromMolFile(str(run / "crystal.sdf")) if (run / "crystal.sdf").is_file() else None
        receptor = run / f"{record['receptor']}.pdb"
        Box(tuple(record["box"]["centre"]), tuple(record["box"]["size"]))
        ranked = [(p["rank"], p["vina_kcal_mol"]) for p in record["poses"]]
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"{record_path}: not a record of redock_bench.py --keep ({type(err).__name__}: {err})") from None
    if not poses or None in poses or len(poses) != len(ranked) or crystal is None or not receptor.is_file():
        raise InputError(f"{run}: a kept run needs its poses (.poses.sdf, one per recorded pose), crystal.sdf and "
                         f"{receptor.name}; rerun redock_bench.py --keep for it")
    return record, poses, crystal, receptor


def rescore_run(run: Path) -> dict:
    """Every pose of one kept run: Vina rank and score, Vinardo scores, RMSDs to the crystal ligand."""
    record, poses, crystal, receptor_path = read_kept(run)
    receptor = load_receptor(receptor_path, name=record["receptor"])
    box = Box(tuple(record["box"]["centre"]), tuple(record["box"]["size"]))
    with tempfile.TemporaryDirectory(prefix="remyfold-rescore-") as scratch:
        rec_path = Path(scratch) / "receptor.pdbqt"
        rec_path.write_text(receptor_pdbqt(receptor).pdbqt)
        scored = _vinardo(rec_path, box, poses)
    rows, ranked = [], []
    for info, pose, (plain, local, local_mol) in zip(record["poses"], poses, scored):
        rows.append({"rank": info["rank"], "vina": info["vina_kcal_mol"], "vinardo": plain, "vinardo_local": local,
                     "rmsd": heavy_atom_rmsd(pose, crystal), "rmsd_local": heavy_atom_rmsd(local_mol, crystal)})
        ranked.append(Pose(info["rank"], info["vina_kcal_mol"], pose))
    rivals = {str(margin): rival_ranks(ranked, margin) for margin in MARGINS}
    name, mode, seed = run.name.rsplit("-", 2)
    return {"run": run.name, "name": name, "mode": mode, "seed": seed, "poses": rows, "rivals": rivals}


def _vinardo(receptor: Path, box: Box, poses: list) -> list[tuple[float, float, object]]:
    """Per pose: its Vinardo score as docked, after local optimisation, and the optimised pose.

    One engine per run: the maps depend on the receptor, the box and the ligand's atom types,
    which every pose of the run shares.
    """
    vina = require("vina")
    meeko = require("meeko")
    engine = vina.Vina(sf_name="vinardo", cpu=1, verbosity=0)
    engine.set_receptor(rigid_pdbqt_filename=str(receptor))
    scored = []
    for i, pose in enumerate(poses):
        engine.set_ligand_from_string(ligand_pdbqt(pose, "pose"))
        if i == 0:
            engine.compute_vina_maps(center=list(box.centre), box_size=list(box.size))
        plain = float(engine.score()[0])
        local = float(engine.optimize()[0])
        text = _optimised_pdbqt(engine)
        mols = meeko.RDKitMolCreate.from_pdbqt_mol(meeko.PDBQTMolecule(text, is_dlg=False, skip_typing=True))
        scored.append((plain, local, mols[0]))
    return scored


def _optimised_pdbqt(engine) -> str:
    """The engine's current ligand pose as PDBQT (written to a scratch file: the bindings have no string form)."""
    with tempfile.TemporaryDirectory(prefix="remyfold-pose-") as scratch:
        path = Path(scratch) / "pose.pdbqt"
        engine.write_pose(str(path), overwrite=True)
        return path.read_text()


def choose(poses: list[dict], rule: str) -> tuple[dict, float]:
    """The pose ``rule`` ranks first, and its RMSD (Å) to the crystal ligand."""
    if rule == "vina":
        pose = min(poses, key=lambda p: p["rank"])
        return pose, pose["rmsd"]
    if rule == "vinardo":
        pose = min(poses, key=lambda p: (p["vinardo"], p["rank"]))
        return pose, pose["rmsd"]
    if rule == "vinardo-local":
        pose = min(poses, key=lambda p: (p["vinardo_local"], p["rank"]))
        return pose, pose["rmsd_local"]
    by_vinardo = {id(p): i for i, p in enumerate(sorted(poses, key=lambda p: (p["vinardo"], p["rank"])), start=1)}
    pose = min(poses, key=lambda p: (p["rank"] + by_vinardo[id(p)], p["rank"]))
    return pose, pose["rmsd"]


def summarise(runs: list[dict]) -> dict:
    """Top-1 ≤ 2 Å per rule and mode, and each run's chosen RMSD per rule."""
    table = []
    for run in runs:
        table.append({"run": run["run"], "best": min(p["rmsd"] for p in run["poses"]),
                      **{rule: choose(run["poses"], rule)[1] for rule in RULES}})  # fmt: skip
    rates, clarity = {}, {}
    for mode in sorted({r["mode"] for r in runs}):
        these = [(t, r) for t, r in zip(table, runs) if r["mode"] == mode]
        rates[mode] = {rule: sum(t[rule] <= SUCCESS for t, _r in these) for rule in RULES} | {"runs": len(these)}
        for margin in MARGINS:
            clear = [t["vina"] <= SUCCESS for t, r in these if not r.get("rivals", {}).get(str(margin))]
            unclear = [t["vina"] <= SUCCESS for t, r in these if r.get("rivals", {}).get(str(margin))]
            clarity[f"{mode} {margin:g}"] = {"clear": len(clear), "clear_right": sum(clear),
                                             "unclear": len(unclear), "unclear_right": sum(unclear)}  # fmt: skip
    return {"table": table, "rates": rates, "clarity": clarity}


def markdown(report: dict) -> str:
    lines = ["# Redocking poses ranked again: Vina against Vinardo", "",
             f"{report['date']} · commit {report['commit']} · {len(report['runs'])} kept runs · "
             "generated by `bench/dock/pose_rescoring.py` (see its docstring for the rules)", "",
             "| mode | runs | " + " | ".join(f"top-1 ≤ 2 Å, {rule}" for rule in RULES) + " |",
             "|---|---|" + "---|" * len(RULES)]  # fmt: skip
    for mode, rate in report["summary"]["rates"].items():
        lines.append(f"| {mode} | {rate['runs']} | " + " | ".join(f"{rate[rule]}/{rate['runs']}" for rule in RULES) + " |")
    lines += ["", "Is the top pose clear (no pose > 2 Å from it within the margin)? How often it is right (≤ 2 Å):", "",
              "| mode, margin (kcal/mol) | clear: right | not clear: right |", "|---|---|---|"]
    for key, c in report["summary"].get("clarity", {}).items():
        lines.append(f"| {key} | {c['clear_right']}/{c['clear']} | {c['unclear_right']}/{c['unclear']} |")
    lines += ["", "| run | best pose RMSD (Å) | " + " | ".join(f"{rule} (Å)" for rule in RULES) + " |",
              "|---|---|" + "---|" * len(RULES)]  # fmt: skip
    for row in report["summary"]["table"]:
        lines.append(f"| {row['run']} | {row['best']:.2f} | " + " | ".join(f"{row[rule]:.2f}" for rule in RULES) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    import subprocess

    from remyfold.errors import InputError
    from remyfold.io.atomic import write_text_atomic
    from remyfold.io.outputs import check_report_outputs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kept", type=Path, required=True, help="folder of redock_bench.py --keep")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    try:
        if not args.kept.is_dir():
            raise InputError(f"--kept {args.kept} is not a folder; give the one redock_bench.py --keep wrote")
        check_report_outputs(args.out, args.markdown, "redock-rescoring")
    except InputError as err:
        print(f"pose_rescoring: error: {err}", file=sys.stderr)
        return 2
    try:
        runs = [rescore_run(run) for run in run_dirs(args.kept)]
        if not runs:
            raise InputError(f"--kept {args.kept} holds no kept runs with the site given (folders NAME-site-SEED "
                             "with out/*.dock.json; pocket-mode runs are not rescored); give the folder "
                             "redock_bench.py --keep wrote")
    except InputError as err:
        print(f"pose_rescoring: error: {err}", file=sys.stderr)
        return 2
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    report = {"date": datetime.date.today().isoformat(), "commit": commit, "runs": runs, "summary": summarise(runs)}
    write_text_atomic(args.out, json.dumps(report, indent=1) + "\n")
    if args.markdown:
        write_text_atomic(args.markdown, markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
