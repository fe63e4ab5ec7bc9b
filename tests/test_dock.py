"""Pockets and docking: real complex 1A28 (progesterone receptor + progesterone), bad input, resumable outputs.

The redocking test is the CI check of issue 9: progesterone built from its
SMILES (never the crystal conformer), the pocket found automatically, docked
with a small exhaustiveness, top pose within 2 Å of the crystal ligand.
"""

from __future__ import annotations

import json
from pathlib import Path

import gemmi
import numpy as np
import pytest

from remyfold.cli import main

pytest.importorskip("vina")
pytest.importorskip("meeko")
pytest.importorskip("pyKVFinder")

from remyfold.dock.receptor import load_receptor  # noqa: E402
from remyfold.dock.redock import crystal_ligand_from_structure, heavy_atom_rmsd, ligand_centre  # noqa: E402

PROGESTERONE = "CC(=O)[C@H]1CC[C@H]2[C@@H]3CCC4=CC(=O)CC[C@]4(C)[C@H]3CC[C@]12C"


@pytest.fixture(scope="module")
def pr_lbd(tmp_path_factory) -> Path:
    """1A28 chain A (with its progesterone, STR 1) as plain PDB."""
    from importlib.util import find_spec

    data = Path(next(iter(find_spec("MDAnalysisTests").submodule_search_locations))) / "data"
    st = gemmi.read_structure(str(data / "1a28.pdb.gz"))
    st[0].remove_chain("B")
    path = tmp_path_factory.mktemp("pr") / "1a28_A.pdb"
    path.write_text(st.make_pdb_string())
    return path


@pytest.fixture(scope="module")
def crystal(pr_lbd):
    return crystal_ligand_from_structure(pr_lbd, "STR", "A", PROGESTERONE)


def test_pockets_top_pocket_holds_the_crystal_ligand(pr_lbd, crystal, capsys):
    assert main(["pockets", str(pr_lbd), "--json", "--top", "3"]) == 0
    pockets = json.loads(capsys.readouterr().out)["pockets"]
    assert [p["rank"] for p in pockets] == [1, 2, 3]
    top = pockets[0]
    assert np.linalg.norm(np.array(top["centre"]) - ligand_centre(crystal)) <= 4.0
    assert top["volume_A3"] > 100 and top["mean_plddt"] is None  # experimental structure
    # Residues that touch progesterone in 1A28 (Williams & Sigler, Nature 1998): the 3-keto pair Gln725/Arg766.
    assert {"A:GLN725", "A:ARG766", "A:ASN719", "A:MET756", "A:CYS891"} <= set(top["residues"])
    assert main(["pockets", str(pr_lbd)]) == 0
    assert capsys.readouterr().out.splitlines()[0].split()[:2] == ["rank", "score"]


def test_pockets_mean_plddt_of_a_remyfold_model(pr_lbd, tmp_path, capsys):
    st = gemmi.read_structure(str(pr_lbd))
    st.remove_ligands_and_waters()
    for res in st[0]["A"]:
        for atom in res:
            atom.b_iso = 50.0 if res.seqid.num < 800 else 95.0
    st.info["_struct.title"] = "remyfold prediction of PR"
    model = tmp_path / "model.pdb"
    model.write_text(st.make_pdb_string())
    receptor = load_receptor(model)
    assert receptor.plddt is not None
    assert main(["pockets", str(model), "--json"]) == 0
    pockets = json.loads(capsys.readouterr().out)["pockets"]
    for p in pockets:
        nums = [int("".join(ch for ch in r.split(":")[1] if ch.isdigit())) for r in p["residues"]]
        expected = np.mean([50.0 if n < 800 else 95.0 for n in nums])
        assert p["mean_plddt"] == pytest.approx(expected, abs=0.06)
        assert p["low_confidence"] == (expected < 70)


def test_redock_1a28_within_2_angstrom_deterministic_and_resumable(pr_lbd, crystal, tmp_path):
    """CI redocking: SMILES → 3D → automatic pocket → Vina → top pose ≤ 2 Å; same seed, same result."""
    from rdkit import Chem

    out = tmp_path / "dock"
    args = ["dock", str(pr_lbd), "--ligand", PROGESTERONE, "--out", str(out),
            "--exhaustiveness", "4", "--seed", "7", "--poses", "3"]
    assert main(args) == 0
    sdf = next(out.glob("1a28_A__*.poses.sdf"))
    poses = list(Chem.SDMolSupplier(str(sdf), removeHs=False))
    assert len(poses) == 3 and float(poses[0].GetProp("vina_score")) < -8.0
    assert heavy_atom_rmsd(poses[0], crystal) <= 2.0
    summary = (out / "dock_summary.tsv").read_text().splitlines()
    assert summary[0].split("\t") == ["receptor", "ligand", "pocket", "pose_rank", "vina_kcal_mol",
                                      "pocket_mean_plddt"]
    assert len(summary) == 4 and summary[1].split("\t")[2:4] == ["1", "1"]
    complex_pdb = gemmi.read_structure(str(next(out.glob("*.complex.pdb"))))
    assert any(res.name == "LIG" for ch in complex_pdb[0] for res in ch)
    # A rerun skips the finished pair (files untouched) and rewrites the same summary.
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != "dock_summary.tsv"}
    assert main(args) == 0
    assert stamps == {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != "dock_summary.tsv"}
    # Same seed in a fresh folder: the same poses.
    again = tmp_path / "again"
    assert main(args[:4] + ["--out", str(again)] + args[6:]) == 0
    assert next(again.glob("*.poses.sdf")).read_text() == sdf.read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--ligand", "C1CC(("], "cannot parse SMILES 'C1CC(('"),
        (["--ligand", "fingolimodx"], "unknown drug name 'fingolimodx'"),
        (["--ligand", "metformin", "--box", "500,500,500,20,20,20"], "is outside the protein"),
        (["--ligand", "clemastine", "--box", "23,10,60,12,12,12"], "too large for box"),
        (["--ligand", "metformin", "--box", "1,2,3"], "is not CX,CY,CZ,SX,SY,SZ"),
        (["--ligand", "metformin", "--pocket", "zero"], "give auto or a pocket rank"),
        (["--ligand", "metformin", "--pocket", "999"], "has only"),
    ],
)
def test_bad_input_is_one_line_exit_2(pr_lbd, tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    assert main(["dock", str(pr_lbd), "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert list(out.glob("**/*")) == []  # nothing written (an empty --out folder at most)


def test_receptor_without_protein(tmp_path, capsys):
    water = tmp_path / "water.pdb"
    water.write_text("HETATM    1  O   HOH A   1       1.000   2.000   3.000  1.00  0.00           O\nEND\n")
    assert main(["dock", str(water), "--ligand", "metformin", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no protein residues" in err


def test_missing_extra_names_it(monkeypatch, capsys, pr_lbd, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_vina(name, *args, **kwargs):
        if name == "vina" or name.startswith("vina."):
            raise ImportError("No module named 'vina'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_vina)
    monkeypatch.delitem(__import__("sys").modules, "vina", raising=False)
    assert main(["dock", str(pr_lbd), "--ligand", "metformin", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "remyfold[dock]" in err and "vina" in err


def test_ligand_from_sdf_keeps_its_3d_coordinates(tmp_path):
    from rdkit import Chem
    from rdkit.Chem import AllChem

    from remyfold.dock.ligand import ligand_3d, resolve_ligand

    mol = Chem.AddHs(Chem.MolFromSmiles("CN(C)C(=N)NC(N)=N"))
    AllChem.EmbedMolecule(mol, randomSeed=3)
    path = tmp_path / "met formin.sdf"
    Chem.MolToMolFile(mol, str(path))
    spec = resolve_ligand(str(path))
    assert spec.name == "met_formin" and spec.sdf == path
    again = ligand_3d(spec, seed=1)
    assert np.allclose(again.GetConformer().GetPositions(), mol.GetConformer().GetPositions(), atol=1e-3)
    assert resolve_ligand("Metformin").smiles == "CN(C)C(=N)NC(N)=N"


def test_receptor_with_untemplated_modified_residue_drops_it_offline(tmp_path, monkeypatch):
    """1HVR's S-hydroxycysteine (CSO): with no network Meeko has no template; it is left out and listed."""
    import urllib.error
    import urllib.request
    from importlib.util import find_spec

    from remyfold.dock.receptor import receptor_pdbqt

    def offline(*_args, **_kwargs):
        raise urllib.error.URLError("offline (test)")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    data = Path(next(iter(find_spec("MDAnalysisTests").submodule_search_locations))) / "data"
    st = gemmi.read_structure(str(data / "1hvr.pdb"))
    st.remove_ligands_and_waters()
    for chain in list(st[0]):
        if chain.name != "A":
            st[0].remove_chain(chain.name)
    chain = st[0]["A"]
    for i in reversed(range(len(chain))):  # residues 60-75 around CSO 67 keep Meeko quick
        if not 60 <= chain[i].seqid.num <= 75:
            del chain[i]
    path = tmp_path / "1hvr_cso.pdb"
    path.write_text(st.make_pdb_string())
    pdbqt = receptor_pdbqt(load_receptor(path, chains=("A",)))
    assert "REMARK   left out by Meeko: every CSO (no Meeko template)" in pdbqt.splitlines()
    atoms = [line for line in pdbqt.splitlines() if line.startswith("ATOM")]
    assert atoms and not any(line[17:20] == "CSO" for line in atoms)
    assert {line[17:20] for line in atoms} >= {"LYS", "GLU"}
