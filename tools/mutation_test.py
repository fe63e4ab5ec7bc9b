"""Mutation testing of the modules whose numbers users trust, with cosmic-ray (issue 25).

For each target (one source file and only the test files that guard it) cosmic-ray makes small
mutants of the file (an operator swapped, a number changed, a condition negated, ...) and runs the
tests on each; a mutant the tests still pass "survived". The report lists, per target, mutants,
killed, survived, and each survivor with its reason: a line in ``equivalent.toml`` (the mutant
cannot change behaviour, one-line reason) or nothing (a missing test: write one).

    python tools/mutation_test.py --list                 # the targets, their tests and -k selections
    python tools/mutation_test.py dock.box prediction    # run (or resume) these targets
    python tools/mutation_test.py --all                  # every target (a few hours on 2 cores)
    python tools/mutation_test.py --retest-survivors dock.box   # after adding tests: rerun the survivors
    python tools/mutation_test.py --report               # recount (equivalent.toml may have grown), rewrite REPORT.md

What keeps a run affordable (about 1-5 s a mutant on a shared 2-core machine):

* each target runs only the tests that guard it, narrowed with a pytest ``-k`` selection where a
  test file covers several modules, with ``-x`` (a killed mutant stops at its first failure) and
  without the hypothesis and schemathesis plugins (1.5 s of imports each time);
* at init, cosmic-ray's operators-filter drops the replacements in :data:`EXCLUDED_OPERATORS`
  (e.g. ``-`` by ``|``, ``<<``, ``%``, ``**``: they add little over ``+ * /``), and mutants inside
  annotations (``str | Path``) are skipped: both count as ``filtered``, not as tested;
* every test command runs under ``nice -n 10``, one mutant (one cosmic-ray process) at a time.

Resumable: each target's session is a sqlite file under ``.mutation/`` (git-ignored); a rerun
does only the mutants not yet tested (``--fresh`` starts over). cosmic-ray mutates the source file
in place, so run it in a clean checkout and do not edit the file meanwhile; the script refuses a
target whose file has uncommitted changes and checks that the file is restored afterwards.
Results land in ``bench/quality/mutation/results.json`` and ``REPORT.md`` (committed).
Run from the repository root with the sources importable (``PYTHONPATH=$PWD/src``); needs the
``dev`` extra (``pip install -e '.[dev]'``: cosmic-ray).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shlex
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SESSIONS = ROOT / ".mutation"
OUT = ROOT / "bench" / "quality" / "mutation"
EQUIVALENT = OUT / "equivalent.toml"
TIMEOUT_S = 60.0
# Replacements dropped at init (cosmic-ray's operators-filter, regexes matched from the start of the
# operator name); every other operator of cosmic-ray's core set is run. An arithmetic operator is
# still swapped for each of + - * / (and / <-> //), a bit operator for the other bit operators, a
# comparison for every other comparison; what goes are the replacements that add little over those:
EXCLUDED_OPERATORS = (
    # arithmetic -> %, **, shifts, bit operators (an arithmetic swap already changes the value)
    r"core/ReplaceBinaryOperator_(Add|Sub|Mul|Div|FloorDiv|Mod|Pow)_(Mod|Pow|RShift|LShift|BitOr|BitAnd|BitXor)$",
    r"core/ReplaceBinaryOperator_(Add|Sub|Mul|Mod|Pow)_FloorDiv$",  # keeps / <-> //
    # bit operators and shifts -> arithmetic (they stay swapped among themselves)
    r"core/ReplaceBinaryOperator_(BitOr|BitAnd|BitXor|LShift|RShift)_(Add|Sub|Mul|Div|FloorDiv|Mod|Pow)$",
    r"core/ReplaceBinaryOperator_(BitOr|BitAnd|BitXor)_(LShift|RShift)$",
    r"core/ReplaceBinaryOperator_(LShift|RShift)_(BitOr|BitAnd|BitXor)$",
    # ordering <-> identity (`a < b` -> `a is b`, `x is None` -> `x < None`): a constant or a TypeError
    r"core/ReplaceComparisonOperator_(Lt|LtE|Gt|GtE)_(Is|IsNot)$",
    r"core/ReplaceComparisonOperator_(Is|IsNot)_(Lt|LtE|Gt|GtE)$",
)
METRICS = "tests/metrics/test_metrics.py"
# the hand-computed scores of tests/metrics/test_metrics.py (moved copies, partial coverage, a displaced quarter)
HAND = "identical_and_moved or partial_coverage or displaced_quarter"


@dataclass(frozen=True)
class Target:
    """One source file (relative to the root), the test files that guard it, and a pytest ``-k`` selection."""

    source: str
    tests: tuple[str, ...]
    select: str = ""


TARGETS = {
    "prediction": Target("src/remyfold/prediction.py",
                         ("tests/core/test_prediction.py", "tests/api/test_plddt_spread.py", "tests/api/test_mean_plddt.py",
                          "tests/pipeline/test_pipeline.py")),
    "dock.box": Target("src/remyfold/dock/box.py", ("tests/dock/test_dock_rmsd_box.py",)),
    "dock.redock": Target("src/remyfold/dock/redock.py", ("tests/dock/test_dock_rmsd_box.py", "tests/dock/test_dock_redock.py")),
    "io.structure_reader": Target("src/remyfold/io/structure_reader.py",
                                  ("tests/io/test_structure_reader.py", "tests/metrics/test_compare_inputs.py"),
                                  "test_structure_reader or segment_ids or two_chains_of_one_name or selenomethionine "
                                  "or full_sequence or water_and_ions or unknown_residue"),
    "serve.auth": Target("src/remyfold/serve/auth.py", ("tests/serve/test_serve_auth.py", "tests/serve/test_serve_store.py")),
    "sequence": Target("src/remyfold/sequence.py", ("tests/io/test_fasta.py", "tests/core/test_sequence.py")),
    "metrics.lddt": Target("src/remyfold/metrics/lddt.py", (METRICS, "tests/metrics/test_lddt.py"), "lddt or symmetric"),
    "metrics.superpose": Target("src/remyfold/metrics/superpose.py", (METRICS,), f"kabsch or {HAND} or fast_tm_search"),
    "metrics.tmscore": Target("src/remyfold/metrics/tmscore.py", (METRICS,),
                              f"fast_tm_search or plain_tm_search or d0_and_seed or {HAND}"),
    "metrics.tmscore_fast": Target("src/remyfold/metrics/tmscore_fast.py", (METRICS,),
                                   f"fast_tm_search or d0_and_seed or {HAND} or nmr_model"),
    "metrics.tmscore_terms": Target("src/remyfold/metrics/tmscore_terms.py", (METRICS,),
                                    f"fast_tm_search or d0_and_seed or tm_result or {HAND} or nmr_model"),
    "metrics.gdt": Target("src/remyfold/metrics/gdt.py", (METRICS,), f"gdt or {HAND}"),
    "metrics.sequence_alignment": Target("src/remyfold/metrics/sequence_alignment.py",
                                         ("tests/metrics/test_sequence_alignment.py", "tests/metrics/test_compare_pairing.py"),
                                         "sequence_alignment or blosum62 or island or identical_neighbour"),
    "metrics.alignment": Target("src/remyfold/metrics/alignment.py",
                                ("tests/metrics/test_alignment_units.py", "tests/metrics/test_compare_pairing.py",
                                 "tests/metrics/test_compare_inputs.py"),
                                "not (closed_pipe or compress or bz2 or pymol_old or old_pdb_layout or never_imports_torch "
                                "or unsupported_formats or help_names or corrupt_compressed or format_of_an_unknown "
                                "or md_frame or water_and_ions or segment_ids or selenomethionine)"),
    "metrics.structure_pairing": Target("src/remyfold/metrics/structure_pairing.py",
                                        (METRICS, "tests/metrics/test_compare_pairing.py"),
                                        "structure_pairing or unrelated_chains"),
    "metrics.compare": Target("src/remyfold/metrics/compare.py",
                              ("tests/metrics/test_compare.py", "tests/metrics/test_compare_inputs.py")),
}  # fmt: skip


def cosmic_ray(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the ``cosmic-ray`` command line of this Python, in the root, with ``src`` importable."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "cosmic_ray.cli", *args]
    return subprocess.run(command, cwd=ROOT, env=env, check=check, capture_output=True, text=True)


def session_config(name: str, target: Target) -> Path:
    """Write the cosmic-ray TOML of a target (its file, its tests, local distributor); its path."""
    command = shlex.join(test_command(target))
    text = (
        "[cosmic-ray]\n"
        f'module-path = "{target.source}"\n'
        f"timeout = {TIMEOUT_S}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(command)}\n\n"
        '[cosmic-ray.distributor]\nname = "local"\n\n'
        f"[cosmic-ray.filters.operators-filter]\nexclude-operators = {json.dumps(list(EXCLUDED_OPERATORS))}\n"
    )
    path = SESSIONS / f"{name}.toml"
    path.write_text(text)
    return path


def test_command(target: Target) -> list[str]:
    """The pytest command of a target, run niced (one mutant at a time, on a shared machine).

    Without the hypothesis and schemathesis plugins (no guarding test uses them): they cost about
    1.5 s of imports per mutant."""
    select = ["-k", target.select] if target.select else []
    plugins = ["-p", "no:randomly", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:schemathesis"]
    return ["nice", "-n", "10", sys.executable, "-m", "pytest", "-x", "-q", *plugins, *select, *target.tests]


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """``((line, col), (end_line, end_col))`` of every annotation (parameters, returns, ``x: T``) of a file."""
    spans = []
    for node in ast.walk(ast.parse(Path(ROOT / source).read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            notes = [a.annotation for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
                     if a is not None and a.annotation is not None] + ([node.returns] if node.returns else [])  # fmt: skip
        elif isinstance(node, ast.AnnAssign):
            notes = [node.annotation]
        else:
            continue
        spans += [((n.lineno, n.col_offset), (n.end_lineno, n.end_col_offset)) for n in notes]
    return spans


def filter_session(config: Path, session: Path, source: str) -> None:
    """Mark as skipped the excluded operators (cosmic-ray's operators-filter) and the annotation mutants."""
    from cosmic_ray.work_db import use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    subprocess.run([sys.executable, "-m", "cosmic_ray.tools.filters.operators_filter", str(session), str(config)],
                   cwd=ROOT, check=True)  # fmt: skip
    spans = annotation_spans(source)
    with use_db(str(session)) as db:
        for item in list(db.pending_work_items):
            start = tuple(item.mutations[0].start_pos)
            if any(lo <= start < hi for lo, hi in spans):
                db.set_result(item.job_id, WorkResult(output="annotation", worker_outcome=WorkerOutcome.SKIPPED))


def is_clean(source: str) -> bool:
    """Whether the file has no uncommitted change (cosmic-ray edits it in place)."""
    return subprocess.run(["git", "diff", "--quiet", "HEAD", "--", source], cwd=ROOT).returncode == 0


def forget_survivors(session: Path) -> int:
    """Delete the results of the session's surviving mutants, so that ``exec`` tests them again."""
    import sqlite3

    with sqlite3.connect(session) as db:
        return db.execute("DELETE FROM work_results WHERE lower(test_outcome) = 'survived'").rowcount


def run_target(name: str, target: Target, *, fresh: bool, retest: bool = False) -> dict:
    """Init (unless resuming) and exec the target's session; its summary."""
    if not is_clean(target.source):
        raise SystemExit(f"{target.source} has uncommitted changes; commit or stash them first (it is mutated in place)")
    SESSIONS.mkdir(exist_ok=True)
    config, session = session_config(name, target), SESSIONS / f"{name}.sqlite"
    if fresh and session.exists():
        session.unlink()
    if not session.exists():
        cosmic_ray("init", str(config), str(session))
        filter_session(config, session, target.source)
    elif retest:
        print(f"{name}: testing {forget_survivors(session)} survivors again")
    before, start = summarise(name, target, session)["tested"], time.monotonic()
    try:
        cosmic_ray("exec", str(config), str(session))
    finally:
        if not is_clean(target.source):
            print(f"warning: {target.source} differs from HEAD after the run; check it (git diff)", file=sys.stderr)
    summary = summarise(name, target, session)
    seconds, ran = time.monotonic() - start, summary["tested"] - before
    summary["seconds_this_run"] = round(seconds, 1)
    if ran:
        summary["seconds_per_mutant"] = round(seconds / ran, 1)
    return summary


def mutant_key(mutation: dict) -> str:
    """``path:line:col operator #occurrence``: the key of a mutant in ``equivalent.toml``."""
    line, col = mutation["start_pos"]
    return f"{mutation['module_path']}:{line}:{col} {mutation['operator_name']} #{mutation['occurrence']}"


def summarise(name: str, target: Target, session: Path) -> dict:
    """Counts and survivors of a session (``cosmic-ray dump``: one JSON ``[work item, result]`` a line)."""
    equivalent = tomllib.loads(EQUIVALENT.read_text()) if EQUIVALENT.exists() else {}
    counts = {"mutants": 0, "filtered": 0, "tested": 0, "killed": 0, "survived": 0, "incompetent": 0, "equivalent": 0}
    survivors = []
    for line in cosmic_ray("dump", str(session)).stdout.splitlines():
        item, result = json.loads(line)
        counts["mutants"] += 1
        if result is None:
            continue
        if result.get("worker_outcome") == "skipped":
            counts["filtered"] += 1
            continue
        counts["tested"] += 1
        outcome = result.get("test_outcome") or "incompetent"
        counts[outcome if outcome in counts else "incompetent"] += 1
        if outcome == "survived":
            mutation = item["mutations"][0]
            key = mutant_key(mutation)
            reason = equivalent.get(key, "")
            counts["equivalent"] += bool(reason)
            survivors.append({"mutant": key, "function": mutation.get("definition_name"), "equivalent": reason,
                              "diff": "".join(result.get("diff") or "")})  # fmt: skip
    real = counts["killed"] + counts["survived"] - counts["equivalent"]
    score = round(100.0 * counts["killed"] / real, 1) if real else None
    operators = "filtered" if counts["filtered"] else "all"
    return {"target": name, "source": target.source, "tests": list(target.tests), "select": target.select,
            "operators": operators, **counts,
            "score_percent": score, "survivors": survivors}  # fmt: skip


def load_results() -> dict:
    """The committed ``results.json`` (target -> summary), empty when there is none yet."""
    path = OUT / "results.json"
    return json.loads(path.read_text()) if path.exists() else {}


def write_report(results: dict) -> None:
    """``results.json`` (everything) and ``REPORT.md`` (the table and each survivor's reason)."""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    lines = [
        "# Mutation testing report",
        "",
        "Written by `tools/mutation_test.py` (cosmic-ray); score = killed / (killed + survived − equivalent).",
        "Each survivor is either marked equivalent in `equivalent.toml` (reason shown) or is a missing test.",
        "",
        "## How the run is kept affordable",
        "",
        "- Each target runs only the tests that guard it (the `tests` column, with a `-k` selection where",
        "  given), `pytest -x` without the hypothesis/schemathesis plugins, under `nice -n 10`, one mutant at",
        "  a time. Survivors were then rerun (`--retest-survivors`) with the tests written for them.",
        "- `filtered` mutants are not run: cosmic-ray's operators-filter drops the replacements below",
        "  (regexes on the operator name), and mutants inside annotations (`str | Path`, `-> float | None`)",
        "  are dropped because an annotation does not change what the code computes.",
        "  Every other operator of cosmic-ray's core set runs: each arithmetic operator swapped for",
        "  `+ - * /` (and `/` <-> `//`), bit operators among themselves, every comparison for every other",
        "  comparison (identity tests only for `==`/`!=`/`is`/`is not`), unary operators and `not`,",
        "  `and`/`or`, `True`/`False`, number +1/-1, `break`/`continue`, zero-iteration loops, removed",
        "  decorators and replaced exceptions.",
        "",
        "Excluded replacements:",
        "",
        *[f"- `{pattern}`" for pattern in EXCLUDED_OPERATORS],
        "",
        "`operators`: `filtered` (the set above) or `all` (a run before the filtering, every operator).",
        "`s/mutant`: seconds per mutant of the target's full run on the shared 2-core machine (load varied).",
        "",
        "| target | tests | operators | mutants | filtered | tested | killed | survived | equivalent | incompetent | score % | s/mutant | date |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in sorted(results):
        r = results[name]
        tests = ", ".join(Path(t).name for t in r["tests"]) + (f" `-k {r['select']!r}`" if r.get("select") else "")
        lines.append(f"| {name} | {tests} | {r.get('operators', 'all')} | {r['mutants']} | {r.get('filtered', 0)} | "
                     f"{r['tested']} | {r['killed']} | {r['survived']} | {r['equivalent']} | {r['incompetent']} | "
                     f"{r['score_percent']} | {r.get('seconds_per_mutant', '')} | {r.get('date', '')} |")  # fmt: skip
    not_run = [name for name in TARGETS if name not in results]
    if not_run:
        lines += ["", "**Not run:** " + ", ".join(not_run) + " (no session counted yet: run "
                  f"`python tools/mutation_test.py {' '.join(not_run)}`, then `--report`)."]
    for name in sorted(results):
        if results[name]["survivors"]:
            lines += ["", f"## Survivors of {name}", ""]
            for s in results[name]["survivors"]:
                reason = f"equivalent: {s['equivalent']}" if s["equivalent"] else "**no test kills it**"
                lines.append(f"- `{s['mutant']}` in `{s['function']}`: {reason}")
    (OUT / "REPORT.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help=f"targets to run: {', '.join(TARGETS)}")
    parser.add_argument("--all", action="store_true", help="run every target")
    parser.add_argument("--list", action="store_true", help="list the targets and their tests")
    parser.add_argument("--report", action="store_true",
                        help="recount the targets' sessions against equivalent.toml and rewrite REPORT.md")
    parser.add_argument("--fresh", action="store_true", help="start the targets' sessions over")
    parser.add_argument("--retest-survivors", action="store_true", help="test the survivors again (after new tests)")
    args = parser.parse_args(argv)
    if args.list:
        for name, target in TARGETS.items():
            select = f" -k {target.select!r}" if target.select else ""
            print(f"{name:27} {target.source}  <- {' '.join(target.tests)}{select}")
        return 0
    unknown = [name for name in args.targets if name not in TARGETS]
    if unknown:
        parser.error(f"unknown target {unknown[0]!r}; see --list")
    for name in list(TARGETS) if args.all else ([] if args.report else args.targets):
        summary = run_target(name, TARGETS[name], fresh=args.fresh, retest=args.retest_survivors)
        summary["date"] = time.strftime("%Y-%m-%d")
        results = load_results()  # read again: another run may have written its targets meanwhile
        if args.retest_survivors and "seconds_per_mutant" in results.get(name, {}):
            summary["seconds_per_mutant"] = results[name]["seconds_per_mutant"]  # survivors run every test: slower
        results[name] = summary
        write_report(results)  # after each target, so an interrupted --all keeps what it did
        print(f"{name}: {summary['killed']}/{summary['tested']} killed, {summary['survived']} survived "
              f"({summary['equivalent']} equivalent), score {summary['score_percent']} %, "
              f"{summary['seconds_this_run']} s")  # fmt: skip
    if args.report:
        write_report(resummarised(load_results()))
    else:
        write_report(load_results())
    return 0


def resummarised(results: dict) -> dict:
    """``results`` with each target that has a session here counted again (``equivalent.toml`` may have grown),
    including a target whose session is not in ``results`` yet (run here, counted for the first time)."""
    for name in TARGETS:
        session, previous = SESSIONS / f"{name}.sqlite", results.get(name, {})
        if session.exists():
            kept = {key: previous[key] for key in ("date", "seconds_this_run", "seconds_per_mutant") if key in previous}
            kept.setdefault("date", time.strftime("%Y-%m-%d"))
            results[name] = {**summarise(name, TARGETS[name], session), **kept}
    return results


if __name__ == "__main__":
    raise SystemExit(main())
