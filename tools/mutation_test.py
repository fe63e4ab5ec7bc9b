"""Mutation testing of the modules whose numbers users trust, with cosmic-ray (issue 25).

For each target (one source file and only the test files that guard it) cosmic-ray makes small
mutants of the file (an operator swapped, a number changed, a condition negated, ...) and runs the
tests on each; a mutant the tests still pass "survived". The report lists, per target, mutants,
killed, survived, and each survivor with its reason: a line in ``equivalent.toml`` (the mutant
cannot change behaviour, one-line reason) or nothing (a missing test: write one).

    python tools/mutation_test.py --list                 # the targets and their tests
    python tools/mutation_test.py dock.box prediction    # run (or resume) these targets
    python tools/mutation_test.py --all                  # every target (hours on 2 cores)
    python tools/mutation_test.py --retest-survivors dock.box   # after adding tests: rerun the survivors
    python tools/mutation_test.py --report               # rewrite REPORT.md from results.json

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
import json
import os
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
TIMEOUT_S = 120.0
METRICS_TESTS = ("tests/metrics/test_metrics.py", "tests/metrics/test_compare.py", "tests/metrics/test_compare_inputs.py")


@dataclass(frozen=True)
class Target:
    """One source file (relative to the root) and the test files that guard it."""

    source: str
    tests: tuple[str, ...]


TARGETS = {
    "prediction": Target("src/remyfold/prediction.py",
                         ("tests/core/test_prediction.py", "tests/api/test_plddt_spread.py", "tests/api/test_mean_plddt.py",
                          "tests/pipeline/test_pipeline.py")),
    "dock.box": Target("src/remyfold/dock/box.py", ("tests/dock/test_dock_rmsd_box.py",)),
    "dock.redock": Target("src/remyfold/dock/redock.py", ("tests/dock/test_dock_rmsd_box.py",)),
    "io.structure_reader": Target("src/remyfold/io/structure_reader.py", ("tests/io/test_structure_reader.py",)),
    "serve.auth": Target("src/remyfold/serve/auth.py", ("tests/serve/test_serve_store.py",)),
    "sequence": Target("src/remyfold/sequence.py", ("tests/io/test_fasta.py",)),
    **{
        f"metrics.{name}": Target(f"src/remyfold/metrics/{name}.py", METRICS_TESTS)
        for name in ("alignment", "compare", "gdt", "lddt", "sequence_alignment", "superpose", "tmscore",
                     "tmscore_fast")
    },
}  # fmt: skip


def cosmic_ray(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the ``cosmic-ray`` command line of this Python, in the root, with ``src`` importable."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "cosmic_ray.cli", *args]
    return subprocess.run(command, cwd=ROOT, env=env, check=check, capture_output=True, text=True)


def session_config(name: str, target: Target) -> Path:
    """Write the cosmic-ray TOML of a target (its file, its tests, local distributor); its path."""
    tests = " ".join(target.tests)
    command = f"{sys.executable} -m pytest -x -q -p no:randomly -p no:cacheprovider {tests}"
    text = (
        "[cosmic-ray]\n"
        f'module-path = "{target.source}"\n'
        f"timeout = {TIMEOUT_S}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(command)}\n\n"
        '[cosmic-ray.distributor]\nname = "local"\n'
    )
    path = SESSIONS / f"{name}.toml"
    path.write_text(text)
    return path


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
    elif retest:
        print(f"{name}: testing {forget_survivors(session)} survivors again")
    start = time.monotonic()
    try:
        cosmic_ray("exec", str(config), str(session))
    finally:
        if not is_clean(target.source):
            print(f"warning: {target.source} differs from HEAD after the run; check it (git diff)", file=sys.stderr)
    summary = summarise(name, target, session)
    summary["seconds_this_run"] = round(time.monotonic() - start, 1)
    return summary


def mutant_key(mutation: dict) -> str:
    """``path:line:col operator #occurrence``: the key of a mutant in ``equivalent.toml``."""
    line, col = mutation["start_pos"]
    return f"{mutation['module_path']}:{line}:{col} {mutation['operator_name']} #{mutation['occurrence']}"


def summarise(name: str, target: Target, session: Path) -> dict:
    """Counts and survivors of a session (``cosmic-ray dump``: one JSON ``[work item, result]`` a line)."""
    equivalent = tomllib.loads(EQUIVALENT.read_text()) if EQUIVALENT.exists() else {}
    counts = {"mutants": 0, "tested": 0, "killed": 0, "survived": 0, "incompetent": 0, "equivalent": 0}
    survivors = []
    for line in cosmic_ray("dump", str(session)).stdout.splitlines():
        item, result = json.loads(line)
        counts["mutants"] += 1
        if result is None:
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
    return {"target": name, "source": target.source, "tests": list(target.tests), **counts,
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
        "| target | tests | mutants | tested | killed | survived | equivalent | incompetent | score % | date |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in sorted(results):
        r = results[name]
        lines.append(f"| {name} | {', '.join(Path(t).name for t in r['tests'])} | {r['mutants']} | {r['tested']} | "
                     f"{r['killed']} | {r['survived']} | {r['equivalent']} | {r['incompetent']} | "
                     f"{r['score_percent']} | {r.get('date', '')} |")  # fmt: skip
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
    parser.add_argument("--report", action="store_true", help="only rewrite REPORT.md from results.json")
    parser.add_argument("--fresh", action="store_true", help="start the targets' sessions over")
    parser.add_argument("--retest-survivors", action="store_true", help="test the survivors again (after new tests)")
    args = parser.parse_args(argv)
    if args.list:
        for name, target in TARGETS.items():
            print(f"{name:24} {target.source}  <- {' '.join(target.tests)}")
        return 0
    unknown = [name for name in args.targets if name not in TARGETS]
    if unknown:
        parser.error(f"unknown target {unknown[0]!r}; see --list")
    for name in list(TARGETS) if args.all else ([] if args.report else args.targets):
        summary = run_target(name, TARGETS[name], fresh=args.fresh, retest=args.retest_survivors)
        summary["date"] = time.strftime("%Y-%m-%d")
        results = load_results()  # read again: another run may have written its targets meanwhile
        results[name] = summary
        write_report(results)  # after each target, so an interrupted --all keeps what it did
        print(f"{name}: {summary['killed']}/{summary['tested']} killed, {summary['survived']} survived "
              f"({summary['equivalent']} equivalent), score {summary['score_percent']} %, "
              f"{summary['seconds_this_run']} s")  # fmt: skip
    write_report(load_results())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
