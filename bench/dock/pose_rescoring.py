"""Other rankings of the redocking benchmark's poses, judged without docking again (issue 19).

``remyfold dock`` ranks its poses by the Vina score. In the redocking benchmark
(``redock_bench.py``) most misses with the site given are ranking misses: a pose within 2 Å of the
crystal ligand was among the nine returned, below a wrong one. This script takes the runs kept by
``redock_bench.py --keep DIR`` (receptor, crystal ligand, poses, record) and scores every pose again
with the two other functions that AutoDock Vina ships, in the same box on the same prepared receptor:
Vinardo (Quiroga & Villarreal, PLoS ONE 11:e0155183, 2016, doi:10.1371/journal.pone.0155183) and
the AutoDock4 force-field function (Morris et al., J Comput Chem 30:2785, 2009; its maps made by
AutoGrid4, see :mod:`remyfold.dock.ad4_ranking`):

* ``vina``: the docking's own order (rank 1 first);
* ``vinardo``: the best Vinardo score of the pose as docked (``score_only``);
* ``vinardo-local``: the best Vinardo score after Vinardo's local optimisation of each pose (the
  RMSD is then that of the optimised pose);
* ``rank-sum``: the smallest sum of the pose's Vina and Vinardo ranks (ties: the Vina rank);
* ``ad4`` and ``ad4-local``: as ``vinardo`` and ``vinardo-local``, with the AutoDock4 function.

For each rule and run it records the chosen pose's heavy-atom RMSD to the crystal ligand
(symmetry-aware, :func:`remyfold.dock.redock.heavy_atom_rmsd`), and counts top-1 ≤ 2 Å per rule.
It also asks ``remyfold dock``'s own question of each run, whether the top pose is clear
(:func:`remyfold.dock.vina_dock.rival_ranks`: no other binding mode scores within
:data:`~remyfold.dock.vina_dock.RIVAL_KCAL` of it), at that margin and at 0.5 and 1.0 kcal/mol,
and counts how often a clear top pose, and an unclear one, is right.
It changes nothing in ``remyfold dock``; a rule is adopted there only if it wins on runs it was not
chosen on; the counts are also given per seed, so that a rule chosen on one seed can be judged on the
others. The pocket-mode runs (``--mode pocket``) are rescored too, each pose in the box of the pocket
it was docked in. Needs ``remyfold[dock]`` and ``autogrid4`` (Debian: ``apt-get install autogrid``). Run from the repo root:

    .venv/bin/python bench/dock/pose_rescoring.py --kept /work/redock_keep \\
        --out bench/results/redock-rescoring.json --markdown bench/results/redock-rescoring.md
    .venv/bin/python bench/dock/pose_rescoring.py --kept /work/redock_keep --mode pocket \\
        --out bench/results/redock-rescoring-pocket.json --markdown bench/results/redock-rescoring-pocket.md
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import sys
import tempfile
from pathlib import Path

from remyfold.dock.ad4_ranking import ad4_engine, ad4_maps, check_autogrid, pdbqt_types
from remyfold.dock.box import Box
from remyfold.dock.extra import require
from remyfold.dock.ligand import ligand_pdbqt
from remyfold.dock.receptor import load_receptor
from remyfold.dock.receptor_prep import receptor_pdbqt
from remyfold.dock.redock import heavy_atom_rmsd
from remyfold.dock.vina_dock import RIVAL_KCAL, Pose, rival_ranks

RULES = ("vina", "vinardo", "vinardo-local", "rank-sum", "ad4", "ad4-local")
# rule -> (the score it ranks by, the RMSD of the pose it then chooses: the optimised pose after "-local")
SCORED = {"vinardo": ("vinardo", "rmsd"), "vinardo-local": ("vinardo_local", "rmsd_local"),
          "ad4": ("ad4", "rmsd"), "ad4-local": ("ad4_local", "rmsd_ad4_local")}
MARGINS = (RIVAL_KCAL, 0.5, 1.0)  # kcal/mol: the default rival margin and two wider ones
SUCCESS = 2.0  # Å


def run_dirs(kept: Path, mode: str = "site") -> list[Path]:
    """Kept runs of one mode (``NAME-MODE-SEED`` folders holding ``out/*.dock.json``), sorted by name."""
    return sorted(d for d in kept.iterdir() if d.is_dir() and d.name.rsplit("-", 2)[-2:-1] == [mode]
                  and list((d / "out").glob("*.dock.json")))


def pose_boxes(record: dict) -> list[Box]:
    """The box each recorded pose was docked in: the site's box, or (pocket mode) its own pocket's box.

    Each pose is scored again in that box, so a pocket-mode run's poses, docked in several boxes,
    are each scored on maps that cover them.
    """
    pockets = {str(p["rank"]): p["box"] for p in record.get("pockets_docked", [])}
    raw = [record["box"] if p["pocket"] == "site" else pockets[str(p["pocket"])] for p in record["poses"]]
    return [Box(tuple(b["centre"]), tuple(b["size"])) for b in raw]


def read_kept(run: Path) -> tuple[dict, list, object, Path, list[Box]]:
    """A kept run's record, poses, crystal ligand, receptor file and each pose's box; :class:`InputError`
    naming what is wrong."""
    from remyfold.errors import InputError

    Chem = require("rdkit.Chem")
    if len(run.name.rsplit("-", 2)) != 3:
        raise InputError(f"{run}: a kept run's folder is named NAME-MODE-SEED (as redock_bench.py --keep names it)")
    record_path = next((run / "out").glob("*.dock.json"))
    try:
        record = json.loads(record_path.read_text())
        sdf = record_path.with_name(record_path.name.replace(".dock.json", ".poses.sdf"))
        poses = list(Chem.SDMolSupplier(str(sdf), removeHs=False)) if sdf.is_file() else []
        crystal = kept_crystal(run, run.name.rsplit("-", 2)[0])
        receptor = run / f"{record['receptor']}.pdb"
        boxes = pose_boxes(record)
        ranked = [(p["rank"], p["vina_kcal_mol"]) for p in record["poses"]]
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"{record_path}: not a record of redock_bench.py --keep ({type(err).__name__}: {err})") from None
    if not poses or None in poses or len(poses) != len(ranked) or crystal is None or not receptor.is_file():
        raise InputError(f"{run}: a kept run needs its poses (.poses.sdf, one per recorded pose), crystal.sdf and "
                         f"{receptor.name}; rerun redock_bench.py --keep for it")
    return record, poses, crystal, receptor, boxes


def kept_crystal(run: Path, name: str):
    """The crystal ligand of a kept run: its ``crystal.sdf``, else the benchmark's own (``complexes.py``).

    Pocket-mode runs kept before ``redock_bench.py`` kept the crystal ligand in every mode have none.
    ``None`` if neither is there (the complex's source package is not installed).
    """
    Chem = require("rdkit.Chem")
    if (run / "crystal.sdf").is_file():
        return Chem.MolFromMolFile(str(run / "crystal.sdf"))
    from complexes import crystal_ligand

    found = _benchmark_complexes()
    return crystal_ligand(found[name]) if name in found else None


@functools.cache
def _benchmark_complexes() -> dict:
    """The benchmark's complexes by name, found once per process (it unpacks source archives)."""
    from complexes import all_complexes

    return {cx.name: cx for cx in all_complexes()[0]}


def rescore_run(run: Path) -> dict:
    """Every pose of one kept run: Vina rank and score, Vinardo and AD4 scores, RMSDs to the crystal ligand."""
    record, poses, crystal, receptor_path, boxes = read_kept(run)
    receptor = load_receptor(receptor_path, name=record["receptor"])
    ligands = [ligand_pdbqt(pose, "pose") for pose in poses]
    rigid = [ligand_pdbqt(pose, "pose", rigid_macrocycles=True) for pose in poses]  # AD4 has no glue-atom maps
    types = sorted(set().union(*(pdbqt_types(text) for text in rigid)))
    vinardo, ad4 = [None] * len(poses), [None] * len(poses)
    with tempfile.TemporaryDirectory(prefix="remyfold-rescore-") as scratch:
        rec_path = Path(scratch) / "receptor.pdbqt"
        rec_path.write_text(receptor_pdbqt(receptor).pdbqt)
        for n, box in enumerate(dict.fromkeys(boxes)):  # each box once, in the order the poses first use it
            where = [i for i, b in enumerate(boxes) if b == box]
            texts, rigid_texts = [ligands[i] for i in where], [rigid[i] for i in where]
            maps = ad4_maps(rec_path, box, types, Path(scratch) / f"ad4-{n}")
            scored = zip(_score_each(_vinardo_engine(rec_path, box, texts[0]), texts),
                         _score_each(ad4_engine(maps), rigid_texts))
            for i, (by_vinardo, by_ad4) in zip(where, scored):
                vinardo[i], ad4[i] = by_vinardo, by_ad4
    rows, ranked = [], []
    for info, pose, (plain, local, local_mol), (a_plain, a_local, a_mol) in zip(record["poses"], poses, vinardo, ad4):
        rows.append({"rank": info["rank"], "vina": info["vina_kcal_mol"], "vinardo": plain, "vinardo_local": local,
                     "ad4": a_plain, "ad4_local": a_local, "rmsd": heavy_atom_rmsd(pose, crystal),
                     "rmsd_local": heavy_atom_rmsd(local_mol, crystal), "rmsd_ad4_local": heavy_atom_rmsd(a_mol, crystal)})
        ranked.append(Pose(info["rank"], info["vina_kcal_mol"], pose))
    rivals = {str(margin): rival_ranks(ranked, margin) for margin in MARGINS}
    name, mode, seed = run.name.rsplit("-", 2)
    return {"run": run.name, "name": name, "mode": mode, "seed": seed, "poses": rows, "rivals": rivals}


def _vinardo_engine(receptor: Path, box: Box, ligand: str):
    """A Vinardo engine with its maps for ``box``; they depend on the ligand's atom types, which every
    pose of a run shares, so ``ligand`` (PDBQT text of any pose) is set first."""
    vina = require("vina")
    engine = vina.Vina(sf_name="vinardo", cpu=1, verbosity=0)
    engine.set_receptor(rigid_pdbqt_filename=str(receptor))
    engine.set_ligand_from_string(ligand)
    engine.compute_vina_maps(center=list(box.centre), box_size=list(box.size))
    return engine


def _score_each(engine, ligands: list[str]) -> list[tuple[float, float, object]]:
    """Per pose (PDBQT text): its score as docked, after local optimisation, and the optimised pose."""
    meeko = require("meeko")
    scored = []
    for text in ligands:
        engine.set_ligand_from_string(text)
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
    if rule in SCORED:
        score, rmsd = SCORED[rule]
        pose = min(poses, key=lambda p: (p[score], p["rank"]))
        return pose, pose[rmsd]
    by_vinardo = {id(p): i for i, p in enumerate(sorted(poses, key=lambda p: (p["vinardo"], p["rank"])), start=1)}
    pose = min(poses, key=lambda p: (p["rank"] + by_vinardo[id(p)], p["rank"]))
    return pose, pose["rmsd"]


def summarise(runs: list[dict]) -> dict:
    """Top-1 ≤ 2 Å per rule, per mode and per mode and seed, and each run's chosen RMSD per rule."""
    table = []
    for run in runs:
        table.append({"run": run["run"], "best": min(p["rmsd"] for p in run["poses"]),
                      **{rule: choose(run["poses"], rule)[1] for rule in RULES}})  # fmt: skip
    rates, seeds, clarity = {}, {}, {}
    for mode in sorted({r["mode"] for r in runs}):
        these = [(t, r) for t, r in zip(table, runs) if r["mode"] == mode]
        rates[mode] = _successes([t for t, _r in these])
        for seed in sorted({r["seed"] for _t, r in these}, key=int):
            seeds[f"{mode}, seed {seed}"] = _successes([t for t, r in these if r["seed"] == seed])
        for margin in MARGINS:
            clear = [t["vina"] <= SUCCESS for t, r in these if not r.get("rivals", {}).get(str(margin))]
            unclear = [t["vina"] <= SUCCESS for t, r in these if r.get("rivals", {}).get(str(margin))]
            clarity[f"{mode} {margin:g}"] = {"clear": len(clear), "clear_right": sum(clear),
                                             "unclear": len(unclear), "unclear_right": sum(unclear)}  # fmt: skip
    return {"table": table, "rates": rates, "seeds": seeds, "clarity": clarity}


def _successes(table: list[dict]) -> dict:
    """Per rule, how many of these runs' chosen poses are ≤ 2 Å, and the number of runs."""
    return {rule: sum(t[rule] <= SUCCESS for t in table) for rule in RULES} | {"runs": len(table)}


def markdown(report: dict) -> str:
    lines = ["# Redocking poses ranked again: Vina against Vinardo and AutoDock4", "",
             f"{report['date']} · commit {report['commit']} · {len(report['runs'])} kept runs · "
             "generated by `bench/dock/pose_rescoring.py` (see its docstring for the rules)", "",
             "| mode | runs | " + " | ".join(f"top-1 ≤ 2 Å, {rule}" for rule in RULES) + " |",
             "|---|---|" + "---|" * len(RULES)]  # fmt: skip
    rates = report["summary"]["rates"] | report["summary"].get("seeds", {})
    for mode, rate in rates.items():
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
    parser.add_argument("--mode", choices=("site", "pocket"), default="site",
                        help="rescore the site-given runs (default) or the pocket-mode runs, each pose in its pocket's box")
    args = parser.parse_args(argv)
    try:
        if not args.kept.is_dir():
            raise InputError(f"--kept {args.kept} is not a folder; give the one redock_bench.py --keep wrote")
        check_report_outputs(args.out, args.markdown, "redock-rescoring")
        check_autogrid()
    except InputError as err:
        print(f"pose_rescoring: error: {err}", file=sys.stderr)
        return 2
    try:
        if list((args.kept / "out").glob("*.dock.json")):
            raise InputError(f"--kept {args.kept} is one kept run; give the folder that holds the runs "
                             f"({args.kept.parent})")
        runs = [rescore_run(run) for run in run_dirs(args.kept, args.mode)]
        if not runs:
            raise InputError(f"--kept {args.kept} holds no kept {args.mode}-mode runs (folders NAME-{args.mode}-SEED "
                             "with out/*.dock.json); give the folder redock_bench.py --keep wrote, or the other --mode")
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
