"""The redocking benchmark's report, ``bench/results/redock.md``, written from its runs table.

Per mode: the top pose ≤ 2 Å rate, the any-pose ≤ 2 Å rate, the PoseBusters-valid rate and mean
seconds (``redock_runs.tsv``, written by ``redock_bench.py``); whether each top pose was right or
came with ``remyfold dock``'s warning that it is uncertain (:func:`trust_table`); then every run,
the notes on single runs and reruns, and Vina's published rates beside them.
"""

from __future__ import annotations

import datetime
import platform
from pathlib import Path

from remyfold.dock.runner import DEFAULT_POCKETS
from remyfold.dock.vina_dock import RIVAL_KCAL, DockSettings
from remyfold.io.atomic import write_text_atomic

MODES = ("site", "pocket")
#: The runs table's columns shown in the report, in order.
TABLE_COLUMNS = ("name", "mode", "seed", "heavy_atoms", "top_rmsd", "best_rmsd", "top_vina", "top_pocket",
                 "top_posebusters", "top_clear", "excluded_residues", "seconds", "commit")
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
    "From 227a3b2 `remyfold dock` ionises each ligand at pH 7.4 (`--ligand-charges ph`, the default). It changes "
    "5 of the 13 ligands: 1OF6's tyrosine and 3MHT's SAH become zwitterions, 1UOU's 2-iminopyrrolidine an "
    "amidinium, 4JSV's and 4JSV-B's ADP the trianion. Their rows with commit 227a3b2 or later were rerun "
    "(`--redo`); their rows with earlier commits were docked neutral, as the SMILES gives, and are not yet "
    "rerun. The other 8 ligands are unchanged by it, so their runs are the same computation (1A28 with the "
    "site given, seed 42, docked again at 7e91b14: the same top score, -11.42 kcal/mol). From the same commit "
    "the RMSD matches atoms on the element graph (charges and bond orders aside); on every pose of the 36 runs "
    "kept for `redock-ad4.md` it gives the RMSD the earlier rule gave.",
]

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



def _vina_order(rows: list[dict], mode: str, vina_tops: dict) -> str:
    """``k/n``: of this mode's runs ranked by AutoDock4, those whose Vina-first pose is ≤ 2 Å (an error: a miss)."""
    these = [r for r in rows if r["mode"] == mode]
    right = sum(float(vina_tops.get((r["name"], r["mode"], r["seed"]), "inf")) <= 2.0 for r in these if not r["error"])
    return f"{right}/{len(these)}"


def trust_table(rows: list[dict]) -> list[str]:
    """Markdown rows: per mode, was each top pose right (≤ 2 Å), and did ``remyfold dock`` warn it is uncertain?

    The warning is the record's ``top_pose.clear`` (false: another binding mode scores within
    :data:`~remyfold.dock.vina_dock.RIVAL_KCAL` kcal/mol of the top pose), in the runs table's
    ``top_clear`` column. A wrong top pose without that warning is the outcome the benchmark must
    show: a number that is wrong with nothing to say so. Rows recorded before the column existed
    (empty) and runs that stopped with an error are counted apart.
    """
    lines = ["| mode | runs | right, clear | right, warned uncertain | wrong, warned uncertain "
             "| **wrong, no warning** | clear top poses right | not recorded | error |",
             "|---|---|---|---|---|---|---|---|---|"]
    for mode in MODES:
        these = [r for r in rows if r["mode"] == mode]
        known = [r for r in these if not r["error"] and r.get("top_clear") in ("yes", "no")]
        right = [float(r["top_rmsd"]) <= 2.0 for r in known]
        clear = [r["top_clear"] == "yes" for r in known]
        cells = [sum(ok and c for ok, c in zip(right, clear)), sum(ok and not c for ok, c in zip(right, clear)),
                 sum(not ok and not c for ok, c in zip(right, clear)), sum(not ok and c for ok, c in zip(right, clear))]
        precision = f"{cells[0]}/{sum(clear)}" if any(clear) else "–"
        unknown = sum(not r["error"] and r.get("top_clear") not in ("yes", "no") for r in these)
        lines.append(f"| {mode} | {len(these)} | {cells[0]} | {cells[1]} | {cells[2]} | **{cells[3]}** | {precision} "
                     f"| {unknown} | {sum(bool(r['error']) for r in these)} |")
    return lines


def write_report(rows: list[dict], plan: list, missing: list[str], settings: DockSettings, out: Path,
                 vina_tops: dict | None = None) -> None:
    """``out``: rates per mode, the warnings, per-run table, whether every planned run is in ``rows``.

    ``rows``: the runs with ``settings``; ``plan``: the whole plan's ``(seed, mode, complex)``;
    ``vina_tops`` (ranked by AutoDock4): per ``(name, mode, seed)``, the RMSD (Å, text) of the pose
    Vina's order put first in the same run, so both orders are compared on the same searches.
    """
    planned = {(cx.name, mode, str(seed)) for seed, mode, cx in plan}
    have = {(r["name"], r["mode"], r["seed"]) for r in rows}
    status = "complete" if planned <= have else f"PARTIAL: {len(planned & have)} of {len(planned)} planned runs"
    commits = sorted({r["commit"] for r in rows})
    by_ad4 = settings.ranking == "ad4"
    md = [
        "# Redocking: crystal ligands docked from SMILES, site given and pocket found"
        + (", poses ranked by AutoDock4 (`--ranking ad4`)" if by_ad4 else ""), "",
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
    if by_ad4:
        md += ["", "The same searches in Vina's order (the pose Vina ranked first), top pose ≤ 2 Å: "
               + "; ".join(f"{mode} {_vina_order(rows, mode, vina_tops or {})}" for mode in MODES) + "."]
    excluded = sum(int(r["excluded_residues"]) for r in rows if not r["error"])
    errors = [r for r in rows if r["error"]]
    md += ["", f"Receptor residues excluded by preparation, all runs that docked: {excluded}. Runs that stopped "
           f"with an error (counted as failures above): {len(errors)}."]
    md += [f"- {r['name']} {r['mode']} seed {r['seed']}: {r['error']}" for r in errors]
    rule = ("Vina's own top pose has no rival and lies within 2 Å of AutoDock4's top pose" if by_ad4 else
            f"no other binding mode within {RIVAL_KCAL} kcal/mol of it, more than 2 Å away")
    md += ["", f"Was the top pose right, and did `remyfold dock` warn that it is uncertain (clear: {rule})?", ""]
    md += trust_table(rows)
    columns = TABLE_COLUMNS + (("top_ad4", "top_vina_rank", "vina_top_rmsd") if by_ad4 else ())
    rows = [{**r, "vina_top_rmsd": (vina_tops or {}).get((r["name"], r["mode"], r["seed"]), "")} for r in rows]
    md += ["", "| complex | mode | seed | heavy atoms | top RMSD (Å) | best RMSD (Å) | Vina (kcal/mol) | top pose's "
           "pocket | PoseBusters | top pose clear | excluded | s | commit |"
           + (" AutoDock4 (kcal/mol) | top pose's Vina rank | Vina's top pose RMSD (Å) |" if by_ad4 else ""),
           "|" + "---|" * len(columns)]
    for r in rows:
        md.append("| " + " | ".join(r.get(c) or "–" for c in columns) + " |")
    md += [""] + [f"- {' '.join(key[:3])} ({key[3]}): {note}" for key, note in NOTES.items()
                  if any((r["name"], r["mode"], r["seed"], r["commit"]) == key for r in rows)]
    md += [""] + [f"- {note}" for note in RERUNS]
    md += [""] + [f"- not run: {m}" for m in missing] + [""] + PUBLISHED
    write_text_atomic(out, "\n".join(md) + "\n")
