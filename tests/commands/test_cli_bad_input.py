"""Bad input to every command but ``predict``/``compare``/``serve`` (their own tests): one line, exit 2, nothing left.

Table-driven in the pattern of ``tests/commands/test_cli_predict.py``: each case is the command line
(``{tmp}`` is the test's folder, ``{pdb}`` the 1A28 complex, ``{file}`` an existing file,
``{dir}`` an existing empty folder), and a fragment of the expected message. Every case must
print exactly one line on stderr, exit with status 2, show no traceback, and leave the test's
folder exactly as it was (no empty --out folder, no half-written file).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from remyfold.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "1a28.pdb.gz"
CISPLATIN = "N.N.Cl[Pt]Cl"
FERROCENE = "[Fe+2].[cH-]1cccc1.[cH-]1cccc1"


@pytest.fixture
def place(tmp_path):
    """The test's folder with an existing file, an empty folder, an empty SDF and a binary file."""
    (tmp_path / "file").write_text("not a folder\n")
    (tmp_path / "dir").mkdir()
    (tmp_path / "empty.sdf").write_bytes(b"")
    (tmp_path / "binary.pdb").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "empty.pdb").write_bytes(b"")
    (tmp_path / "sequence.pdb").write_text(">a\nMKV\n")
    (tmp_path / "bad.sdf").write_text("garbage\n$$$$\n")
    return tmp_path


def snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def check_refused(place: Path, capsys, argv: list[str], expected: str) -> None:
    """``argv`` (placeholders filled) exits 2 with one line containing ``expected`` and writes nothing."""
    argv = [a.format(tmp=place, pdb=EXAMPLE, file=place / "file", dir=place / "dir") for a in argv]
    before = snapshot(place)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"remyfold {argv[0]}: error: ") and err.count("\n") == 1, err
    assert expected in err and "Traceback" not in err, err
    assert snapshot(place) == before


TARGETS = [
    (["targets", "fasta", "PLP1", "--out", "{dir}"], "is a folder"),
    (["targets", "fasta", "PLP1", "--out", "{tmp}/new/"], "is a folder"),
    (["targets", "fasta", "PLP1", "--out", "{file}/x"], "is a file, not a folder"),
    (["targets", "fasta", "PLP1", "--out", "/proc/x"], "/proc is a kernel file system"),
    (["targets", "fasta", "PLP1", "--out", "/sys/x"], "/sys is a kernel file system"),
    (["targets", "fasta", "NOSUCHTARGET", "--out", "{tmp}/t.fa"], "NOSUCHTARGET"),
    (["targets", "show"], "exactly one target id"),
    (["targets", "list", "RXRG"], "takes no ids"),
]


@pytest.mark.parametrize(("argv", "expected"), TARGETS, ids=[" ".join(c[0][1:]) for c in TARGETS])
def test_targets_bad_input(place, capsys, argv, expected):
    check_refused(place, capsys, argv, expected)


REPORT = [
    (["report", "{dir}", "--out", "/proc/r.html"], "/proc is a kernel file system"),
    (["report", "{dir}", "--out", "{file}/x.html"], "is a file, not a folder"),
    (["report", "{dir}", "--out", "{dir}"], "is a folder"),
    (["report", "{tmp}/missing"], "missing"),
    (["report", "{file}"], "is a file, not a folder"),
    (["report", "{dir}"], "summary.tsv"),
    (["report", "{dir}", "--out", "{tmp}/new/"], "summary.tsv"),  # a folder: accepted, then the empty input refused
]


@pytest.mark.parametrize(("argv", "expected"), REPORT, ids=[" ".join(c[0][1:]) for c in REPORT])
def test_report_bad_input(place, capsys, argv, expected):
    check_refused(place, capsys, argv, expected)


WEIGHTS = [
    (["weights", "download", "bad name!"], "not a Hugging Face repository id"),
    (["weights", "download", "facebook/esmfold_v1", "--to", "{file}"], "is a file"),
    (["weights", "download", "facebook/esmfold_v1", "--to", "/proc/w"], "/proc is a kernel file system"),
    (["weights", "download", "facebook/esmfold_v1", "--to", "{file}/w"], "is a file, not a folder"),
    (["weights", "path", "{dir}"], "incomplete"),
]


@pytest.mark.parametrize(("argv", "expected"), WEIGHTS, ids=[" ".join(c[0][1:]) for c in WEIGHTS])
def test_weights_bad_input(place, capsys, argv, expected):
    check_refused(place, capsys, argv, expected)


CLUSTER = [
    (["--scheduler", "notanaddress"], "is not a Dask scheduler address"),
    (["--scheduler", "http://10.0.0.5:8786"], "is not a Dask scheduler address"),
    (["--scheduler", ""], "is not a Dask scheduler address"),
    (["--scheduler", "tcp://host:70000"], "is not a Dask scheduler address"),
    (["--workers", "1", "--device", "cuda:7"], "--device cuda:7"),
]


@pytest.mark.parametrize(("flags", "expected"), CLUSTER, ids=[" ".join(c[0]) for c in CLUSTER])
def test_predict_cluster_flags_bad_input(place, capsys, flags, expected):
    """No hang, no ``Client.__del__`` traceback, no summary.tsv of pending rows (the device is checked first)."""
    pytest.importorskip("distributed")
    if "--device" in flags:
        torch = pytest.importorskip("torch")
        if torch.cuda.device_count() > 7:
            pytest.skip("this machine has a cuda:7")
    (place / "in.fa").write_text(">a\nMKV\n")
    check_refused(place, capsys, ["predict", "{tmp}/in.fa", "--out", "{tmp}/out", *flags], expected)


needs_dock = pytest.mark.skipif(
    any(__import__("importlib").util.find_spec(m) is None for m in ("rdkit", "meeko", "vina", "pyKVFinder")),
    reason="needs the dock extra",
)

POCKETS = [
    (["pockets", "{pdb}", "--chain", "Q"], "has no protein chain 'Q'; its protein chains are A, B"),
    (["pockets", "{pdb}", "--chain", "A,Q"], "has no protein chain 'Q'"),
    (["pockets", "{pdb}", "--chain", "A,"], "has no protein chain ''"),
    (["pockets", "{dir}"], "is a folder"),
    (["pockets", "{tmp}/binary.pdb"], "is a binary file"),
    (["pockets", "{tmp}/missing.pdb"], "does not exist"),
    (["pockets", "{tmp}/empty.pdb"], "holds no atoms"),
    (["pockets", "{tmp}/sequence.pdb"], "holds no atoms"),
    (["pockets", "{pdb}", "--top", "0"], "--top 0"),
]


@needs_dock
@pytest.mark.parametrize(("argv", "expected"), POCKETS, ids=[" ".join(c[0][2:]) or c[0][1] for c in POCKETS])
def test_pockets_bad_input(place, capsys, argv, expected):
    check_refused(place, capsys, argv, expected)


DOCK = [
    (["{dir}"], "is a folder"),
    (["{tmp}/binary.pdb"], "is a binary file"),
    (["{pdb}", "--ligand", "{tmp}/empty.sdf"], "is empty"),
    (["{pdb}", "--ligand", "{tmp}/missing.sdf"], "does not exist"),
    (["{pdb}", "--ligand", "{tmp}/bad.sdf"], "record(s) 1 of 1 cannot be read"),
    (["{pdb}", "--ligand", "metformin,clemastine"], "as separate values"),
    (["{pdb}", "--ligand", "C" * 2000], "2000 heavy atoms; Vina docks at most 150"),
    (["{pdb}", "--ligand", "C" * 40], "rotatable bonds; Vina docks at most 32"),
    (["{pdb}", "--ligand", CISPLATIN], "contains Pt"),
    (["{pdb}", "--ligand", FERROCENE], "contains Fe"),
    (["{pdb}", "--ligand", "[Na+].[Cl-]"], "ions or single atoms only"),
    (["{pdb}", "--box", "20,10,60,1000,1000,1000"], "sides of at most 80"),
    (["{pdb}", "--box", "-500,500,500,20,20,20"], "is outside the protein"),  # a negative first number parses
    (["{pdb}", "--box", "22.9,10.2,59.8,1,1,1"], "too large for box"),  # inside the pocket: not "outside"
    (["{pdb}", "--pocket", "zero"], "give auto or a pocket rank"),
    (["{pdb}", "--pocket", "999"], "has only"),
    (["{pdb}", "--exhaustiveness", "0"], "at least 1"),
    (["{pdb}", "--out", "{file}"], "is a file"),
    (["{pdb}", "--out", "/proc/x"], "/proc is a kernel file system"),
    (["{pdb}", "--out", "{file}/sub"], "is a file, not a folder"),
]


@needs_dock
@pytest.mark.parametrize(("args", "expected"), DOCK, ids=[" ".join(c[0][1:])[:40] or c[0][0] for c in DOCK])
def test_dock_bad_input(place, capsys, args, expected):
    """Every failure before docking leaves no --out folder (the default one here is ``{tmp}/dock``)."""
    argv = ["dock", *args]
    if "--ligand" not in argv:
        argv += ["--ligand", "metformin"]
    if "--out" not in argv:
        argv += ["--out", "{tmp}/dock/run"]
    check_refused(place, capsys, argv, expected)


def test_install_command_names_this_clone():
    """Run from a clone's sources, the hint installs that clone (``remyfold`` is not on the index for it)."""
    from remyfold.errors import install_command

    root = Path(__file__).resolve().parents[2]
    command = install_command("dock")
    assert command in (f"pip install -e '{root}[dock]'", "pip install 'remyfold[dock]'")
    import remyfold

    if Path(remyfold.__file__).resolve().is_relative_to(root / "src"):
        assert command == f"pip install -e '{root}[dock]'"


def test_negative_box_value_is_joined():
    from remyfold.cli import _negative_values_joined

    assert _negative_values_joined(["dock", "r.pdb", "--box", "-4.9,1,2,20,20,20"]) == [
        "dock", "r.pdb", "--box=-4.9,1,2,20,20,20"]  # fmt: skip
    assert _negative_values_joined(["predict", "--box", "-1"]) == ["predict", "--box", "-1"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))


def test_pockets_chain_by_segment_label(capsys):
    """A CHARMM file names its chain by segment (adk_open.pdb: blank chain id, segment 4AKE): ``--chain 4AKE``
    selects it, and an unknown id is refused naming the chain with its segment."""
    from MDAnalysisTests.datafiles import PDB_small

    from remyfold.cli import main

    assert main(["pockets", PDB_small, "--chain", "4AKE", "--top", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[0] == "1"
    assert main(["pockets", PDB_small, "--chain", "ADK"]) == 2
    assert "its protein chains are A (segment 4AKE)" in capsys.readouterr().err
