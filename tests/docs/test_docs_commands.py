"""Every command shown in README.md and docs/*.md runs, so the docs cannot drift (docs/tour.md has its own test).

Which blocks: fenced blocks in ``bash``/``sh``/``console`` (shell) or ``python``; other fences (nginx,
Caddy) are configuration, not commands. An HTML comment on the line before a fence,
``<!-- docs-test: KIND (why) -->``, says how a block that cannot run here is checked instead:

* no marker: **run**. A page's shell blocks run in order, each as one ``bash -e`` script, in one
  temporary working folder per page (later blocks see earlier outputs); Python blocks are executed
  there. A non-zero exit fails the test.
* ``parse-only``: GPU, SLURM, hub or network downloads, a server that runs until stopped, synopses.
  Every ``remyfold`` command goes through the real CLI parser (a synopsis' optional ``[...]`` groups
  are dropped, and every ``--option`` named inside them must be an option of that command); every
  ``make`` command is dry-run (``make -n``). Other programs (pip, curl) are not checked.
* ``api-routes``: curl calls of a running server; each URL path must be a route of the app that
  ``remyfold serve`` runs.
* ``compile-only``: Python that needs a cluster: compiled, and its ``remyfold`` imports imported.

What is substituted (the whole table; nothing else in a block is changed):

============================  ==========================================================================
shown                         run as
============================  ==========================================================================
the repository root           a temporary folder holding ``examples/remyelination_targets.fasta`` (each
                              record cut to its first 40 residues, ids kept), ``esmfold_weights`` (the
                              tiny random model of tests/support/tiny_models.py) and ``tests`` (this repo's tests/)
``remyfold``,                 ``python -m remyfold.cli`` of this interpreter (the code under test)
``.venv/bin/remyfold``
``.venv/bin/python``          this interpreter
``remyfold predict …``        ``… --num-recycles 1`` where the line does not set it
``remyfold dock …``           ``… --exhaustiveness 1 --searches 1``, and ``--pockets 1`` with the pocket
                              found, where the line does not set them
``predictions/CHRM1.pdb`` in  1A28 (progesterone receptor, ``mdanalysistests``): a tiny random model has
``pockets``/``dock`` lines    no pockets to dock into
``REFERENCE.cif``             ``predictions/GPR17.cif`` (a structure of the same protein)
UniProt                       ``REMYFOLD_CACHE`` seeded with a 40-residue placeholder record for every
                              catalog target that does not ship its sequence (no network here)
``"facebook/esmfold_v1"``     (Python) the tiny model's folder; ``folder.fold({`` gets ``num_recycles=1``;
                              sequence literals longer than 40 residues are cut to their first 40
============================  ==========================================================================
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "tour.md")]
SHELL, PYTHON = {"bash", "sh", "console", "shell"}, {"python"}
KINDS = {"run", "parse-only", "api-routes", "compile-only"}
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
MARKER = re.compile(r"<!--\s*docs-test:\s*([\w-]+)")
EXAMPLE_RESIDUES = 40


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    language: str
    kind: str
    text: str


def read_blocks(page: Path) -> list[Block]:
    """The shell and Python blocks of one markdown page with their ``docs-test`` kind (default ``run``)."""
    lines, blocks, i = page.read_text().split("\n"), [], 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent, language, start = fence.group(1), fence.group(2), i
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marker = MARKER.search(before)
        body = "\n".join(line[len(indent):] if line.startswith(indent) else line for line in lines[start + 1 : end])
        if language in SHELL | PYTHON:
            blocks.append(Block(page.name, start + 1, language, marker.group(1) if marker else "run", body))
        i = end + 1
    return blocks


def shell_commands(text: str) -> list[str]:
    """The block's commands: continuation lines joined, comments and blank lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    commands = []
    for line in joined.split("\n"):
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            commands.append(line)
    return commands


def substitute_command(command: str, receptor: Path) -> str:
    """One shell command as it runs here (the table in the module docstring)."""
    command = command.replace(".venv/bin/remyfold", "remyfold").replace(".venv/bin/python", '"$PY"')
    command = command.replace("REFERENCE.cif", "predictions/GPR17.cif")
    if command.startswith(("remyfold pockets", "remyfold dock")):
        command = command.replace("predictions/CHRM1.pdb", str(receptor))
    if command.startswith("remyfold predict") and "--num-recycles" not in command:
        command += " --num-recycles 1"
    if command.startswith("remyfold dock"):
        command += _quick_search(command)
    return command


def _quick_search(command: str) -> str:
    """A docking line's options for one short search (those the line sets are kept): exhaustiveness 1,
    one search, and with the pocket found, only the top pocket."""
    extra = "" if "--exhaustiveness" in command else " --exhaustiveness 1"
    extra += "" if "--searches" in command else " --searches 1"
    site_given = any(option in command for option in ("--box", "--site-", "--pocket ", "--pockets"))
    return extra + ("" if site_given else " --pockets 1")


def substitute_python(text: str, weights: Path) -> str:
    text = text.replace('"facebook/esmfold_v1"', repr(str(weights)))
    text = re.sub(r'"([A-Z]{%d})[A-Z]+"' % EXAMPLE_RESIDUES, r'"\1"', text)
    return text.replace("folder.fold({", "folder.fold(num_recycles=1, sequences={")


# ---- the checks for blocks that cannot run ------------------------------------------------------


def check_parse_only(block: Block) -> None:
    from remyfold.cli import build_parser

    parser = build_parser()
    for command in shell_commands(block.text):
        words = command.split()
        if words[0] in ("remyfold", ".venv/bin/remyfold"):
            optional = re.findall(r"\[([^\[\]]*)\]", command)
            required = re.sub(r"\s*\[[^\[\]]*\]", "", command)
            try:
                parser.parse_args(shlex.split(required)[1:])
            except SystemExit as err:
                pytest.fail(f"{block.page}:{block.line}: `{required}` does not parse (exit {err.code})")
            known = _options(parser, shlex.split(required)[1:])
            for option in re.findall(r"--[a-z][a-z0-9-]*", " ".join(optional)):
                assert option in known, f"{block.page}:{block.line}: `{option}` is not an option of `{words[1]}`"
        elif words[0] == "make":
            done = subprocess.run(["make", "-n", *words[1:]], cwd=ROOT, capture_output=True, text=True)
            assert done.returncode == 0, f"{block.page}:{block.line}: `make -n {' '.join(words[1:])}`: {done.stderr}"


def _options(parser, argv: list[str]) -> set[str]:
    """Option strings of the innermost (sub-)sub-command that ``argv`` names."""
    import argparse

    current = parser
    for word in argv:
        sub = next((a for a in current._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is not None and word in sub.choices:
            current = sub.choices[word]
    return set(current._option_string_actions)


def check_api_routes(block: Block, tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from remyfold.serve.app import create_app
    from remyfold.serve.config import ServeConfig
    from remyfold.serve.store import Store

    config = ServeConfig(data_dir=tmp_path / "serve", weights="unused")
    config.data_dir.mkdir()
    app = create_app(config, Store(config.database))
    paths = [*app.openapi()["paths"], *(route.path for route in app.routes if hasattr(route, "path"))]
    routes = [re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$") for path in paths]
    urls = re.findall(r"\$S(/[^\s\"'>]*)", block.text)
    assert urls, f"{block.page}:{block.line}: no $S/... URL in an api-routes block"
    for url in urls:
        assert any(route.match(url) for route in routes), f"{block.page}:{block.line}: no route {url}"


def check_compile_only(block: Block) -> None:
    import importlib

    compile(block.text, f"{block.page}:{block.line}", "exec")
    for module in re.findall(r"^from (remyfold[\w.]*) import", block.text, re.MULTILINE):
        importlib.import_module(module)


# ---- running ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir_template(tiny_weights_dir, data, tmp_path_factory) -> tuple[Path, dict]:
    """The folder a page runs in (examples cut short, the tiny weights, tests/) and its environment."""
    import gzip

    base = tmp_path_factory.mktemp("docs")
    receptor = base / "1a28.pdb"
    receptor.write_bytes(gzip.decompress((data / "1a28.pdb.gz").read_bytes()))
    cache = base / "cache" / "uniprot"
    cache.mkdir(parents=True)
    catalog = tomllib.loads((ROOT / "src" / "remyfold" / "targets" / "catalog.toml").read_text())
    for target in (t for t in catalog["target"] if "accession" in t):  # some have no verified accession
        acc = target["accession"]
        (cache / f"{acc}.fasta").write_text(f">sp|{acc}|{target['id']}_HUMAN placeholder for the docs test\n"
                                            + "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGT"[:EXAMPLE_RESIDUES] + "\n")
    env = os.environ | {"PY": sys.executable, "REMYFOLD_CACHE": str(base / "cache"), "REMYFOLD_UNIPROT_URL": "http://127.0.0.1:9"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return base, {"env": env, "receptor": receptor, "weights": tiny_weights_dir}


def make_workdir(template: tuple[Path, dict], path: Path) -> Path:
    base, setup = template
    examples = path / "examples"
    examples.mkdir(parents=True)
    fasta = (ROOT / "examples" / "remyelination_targets.fasta").read_text().split("\n")
    cut, residues = [], 0
    for line in fasta:
        if line.startswith(">"):
            cut.append(line)
            residues = 0
        elif line:
            keep = line[: max(0, EXAMPLE_RESIDUES - residues)]
            residues += len(keep)
            if keep:
                cut.append(keep)
    (examples / "remyelination_targets.fasta").write_text("\n".join(cut) + "\n")
    (path / "esmfold_weights").symlink_to(setup["weights"], target_is_directory=True)
    (path / "tests").symlink_to(ROOT / "tests", target_is_directory=True)
    return path


def run_shell(block: Block, cwd: Path, setup: dict) -> None:
    script = ['set -eo pipefail', 'remyfold() { "$PY" -m remyfold.cli "$@"; }']
    script += [substitute_command(c, setup["receptor"]) for c in shell_commands(block.text)]
    done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=cwd, env=setup["env"], capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, f"{block.page}:{block.line} failed:\n" + "\n".join(script) + "\n" + done.stderr[-3000:]


def run_python(block: Block, cwd: Path, setup: dict, monkeypatch) -> None:
    monkeypatch.chdir(cwd)
    code = compile(substitute_python(block.text, setup["weights"]), f"{block.page}:{block.line}", "exec")
    exec(code, {"__name__": "__docs__"})  # noqa: S102 - the documented example itself


def test_every_block_has_a_known_kind_and_the_pages_have_commands():
    blocks = [b for page in PAGES for b in read_blocks(page)]
    assert {b.kind for b in blocks} <= KINDS, {b.kind for b in blocks} - KINDS
    assert sum(b.kind == "run" for b in blocks) >= 5
    assert not any(b.kind == "compile-only" and b.language != "python" for b in blocks)


@pytest.mark.parametrize("page", [page for page in PAGES if read_blocks(page)], ids=lambda p: p.name)
def test_page_commands(page, workdir_template, tmp_path, monkeypatch):
    blocks = read_blocks(page)
    cwd = make_workdir(workdir_template, tmp_path / "work")
    setup = workdir_template[1]
    for block in blocks:
        if block.kind == "parse-only":
            check_parse_only(block)
        elif block.kind == "api-routes":
            check_api_routes(block, tmp_path)
        elif block.kind == "compile-only":
            check_compile_only(block)
        elif block.language in PYTHON:
            run_python(block, cwd, setup, monkeypatch)
        else:
            run_shell(block, cwd, setup)
    shutil.rmtree(cwd / "predictions", ignore_errors=True)


def test_a_drifted_command_is_caught():
    """The checks fail on what drift looks like: a renamed option, a missing route."""
    with pytest.raises(AssertionError):
        check_parse_only(Block("x.md", 1, "bash", "parse-only", "remyfold predict in.fasta --out d [--no-such-flag N]"))
    with pytest.raises(pytest.fail.Exception):
        check_parse_only(Block("x.md", 1, "bash", "parse-only", "remyfold predict in.fasta --outdir d"))
    with pytest.raises(AssertionError):
        check_parse_only(Block("x.md", 1, "bash", "parse-only", "make no-such-target"))


def test_docking_lines_run_one_short_search_and_keep_what_they_set():
    receptor = Path("/r/1a28.pdb")
    assert substitute_command("remyfold dock predictions/CHRM1.pdb --ligand x --out d", receptor) == (
        "remyfold dock /r/1a28.pdb --ligand x --out d --exhaustiveness 1 --searches 1 --pockets 1")
    assert substitute_command("remyfold dock a.pdb --ligand x --out d --site-from H.cif:LIG --exhaustiveness 4",
                              receptor).endswith("--exhaustiveness 4 --searches 1")
