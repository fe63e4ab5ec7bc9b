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

from structure_server import Stub, structure_stub, structures_offline, stub_mmcif  # noqa: F401

from remyfold.cli import main

pytest.importorskip("vina")
pytest.importorskip("meeko")
pytest.importorskip("pyKVFinder")

from remyfold.dock.receptor import load_receptor  # noqa: E402
from remyfold.dock.redock import crystal_ligand_from_structure, heavy_atom_rmsd, ligand_centre  # noqa: E402

PROGESTERONE = "CC(=O)[C@H]1CC[C@H]2[C@@H]3CCC4=CC(=O)CC[C@]4(C)[C@H]3CC[C@]12C"


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
    assert poses[0].GetProp("posebusters_passed") == "yes"
    assert heavy_atom_rmsd(poses[0], crystal) <= 2.0
    # whether the top pose is clear: its rivals are the poses > 2 Å from it within the margin, by the record's scores
    record = json.loads(next(out.glob("1a28_A__*.dock.json")).read_text())
    top = record["top_pose"]
    within = {p["rank"] for p in record["poses"][1:]
              if p["vina_kcal_mol"] - record["poses"][0]["vina_kcal_mol"] <= top["margin_kcal_mol"]}  # fmt: skip
    assert set(top["rival_ranks"]) <= within and top["clear"] == (not top["rival_ranks"])
    assert all(heavy_atom_rmsd(poses[r - 1], poses[0]) > top["rival_rmsd"] for r in top["rival_ranks"])
    summary = (out / "dock_summary.tsv").read_text().splitlines()
    assert summary[0].split("\t") == ["receptor", "ligand", "pocket", "pose_rank", "vina_kcal_mol",
                                      "pocket_mean_plddt", "ad4_kcal_mol"]
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
    assert not out.exists()  # nothing written, not even an empty --out folder


def test_a_ligand_group_with_a_pka_near_the_ph_is_warned_of(pr_lbd, tmp_path, capsys):
    """Histamine's imidazole (pKa ~7) is docked as given at pH 7.4, and the user is told which group."""
    out = tmp_path / "out"
    args = ["dock", str(pr_lbd), "--out", str(out), "--ligand", "histamine=NCCc1c[nH]cn1", "--pocket", "999"]
    assert main(args) == 2  # stops at the pocket rank, after the ligands were checked
    warning, error = capsys.readouterr().err.splitlines()
    assert "histamine" in warning and "imidazole at N7" in warning and "has only" in error
    assert main([*args[:-2], "--ph", "5.0", "--pocket", "999"]) == 2  # far from the pKa: no warning
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_every_pairs_box_is_checked_before_any_receptor_is_prepared(pr_lbd, tmp_path, monkeypatch):
    """A box too small for the second ligand stops the run before the first pair is prepared or docked."""
    from remyfold.dock import runner
    from remyfold.dock.box import Box
    from remyfold.dock.errors import DockError
    from remyfold.dock.ligand import LigandSpec

    def prepared_too_early(*_args, **_kwargs):
        pytest.fail("a receptor was prepared before every pair's box was checked")

    monkeypatch.setattr(runner, "receptor_pdbqt", prepared_too_early)
    ligands = (LigandSpec("ethanol", smiles="CCO"), LigandSpec("triacontane", smiles="C" * 30))
    job = runner.DockJob((pr_lbd,), ligands, tmp_path / "out", box=Box((23.0, 10.0, 60.0), (12.0, 12.0, 12.0)))
    with pytest.raises(DockError, match="ligand triacontane .* is too large for box"):
        runner.run_docking(job, progress=False)
    assert not job.out_dir.exists()


def test_receptor_given_as_pdb_id_is_fetched(structure_stub, tmp_path, capsys, monkeypatch):
    """A PDB id where no such file exists is fetched (stub RCSB) and docked as receptor ``1A28``."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert main(["dock", "1a28", "--ligand", "metformin", "--pocket", "999", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--pocket 999: 1A28 has only" in err, err
    assert Stub.hits == ["/download/1A28.cif.gz"] and not out.exists()


def test_site_from_a_homolog_given_by_pdb_id(structure_stub, tmp_path, capsys, monkeypatch):
    """``--site-from 1A28:A:STR``: the homolog is fetched (stub RCSB) and its ligand placed on the receptor."""
    from remyfold.commands.dock import _homolog_by_id
    from remyfold.dock.site import parse_site

    monkeypatch.chdir(tmp_path)
    value = _homolog_by_id("1a28:A:STR")
    assert value.endswith("1A28.cif.gz:A:STR") and Stub.hits == ["/download/1A28.cif.gz"]
    assert parse_site("from", value).file().is_file()
    assert _homolog_by_id("notanid:STR") == "notanid:STR"  # not an id: left for the file check to refuse


def test_receptor_id_offline_is_one_line(structures_offline, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["dock", "P48443", "--ligand", "bexarotene", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot fetch P48443" in err, err
    assert not out.exists()


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
    cation = ligand_3d(spec, seed=1, ph=7.4)  # ionised: the heavy atoms stay, one proton is added
    heavy = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() > 1]
    assert np.allclose(cation.GetConformer().GetPositions()[heavy], mol.GetConformer().GetPositions()[heavy], atol=1e-3)
    assert Chem.GetFormalCharge(cation) == 1 and cation.GetNumAtoms() == mol.GetNumAtoms() + 1
    assert resolve_ligand("Metformin").smiles == "CN(C)C(=N)NC(N)=N"


def test_receptor_with_modified_residue_is_prepared_offline(tmp_path, monkeypatch):
    """1HVR's S-hydroxycysteine (CSO): offline, PDBFixer gives it its parent's template (CYS), listed as renamed."""
    import urllib.error
    import urllib.request
    from importlib.util import find_spec

    from remyfold.dock.receptor_prep import receptor_pdbqt

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
    prepared = receptor_pdbqt(load_receptor(path, chains=("A",)))
    assert prepared.renamed == ("A:CSO67 -> CYS",) and prepared.excluded == ()  # PDBFixer's parent residue
    assert "REMARK   renamed: A:CSO67 -> CYS" in prepared.pdbqt.splitlines()
    atoms = [line for line in prepared.pdbqt.splitlines() if line.startswith("ATOM")]
    assert atoms and not any(line[17:20] == "CSO" for line in atoms)
    assert {line[17:20] for line in atoms} >= {"LYS", "GLU", "CYS"}


PYMOL_1HPV = Path("/usr/share/pymol/data/tut/1hpv.pdb")


def _charmm_layout(source: Path, path: Path) -> Path:
    """Rewrite a PDB in the CHARMM/NAMD layout: names from column 13, blank chain id, segment id
    ``PROA`` in columns 73-76, no element columns, HIS named HSD."""
    lines = []
    for line in source.read_text().splitlines():
        if line.startswith("ATOM"):
            name = line[12:16].strip()
            residue = "HSD" if line[17:20] == "HIS" else line[17:20]
            line = f"{line[:12]}{name:<4} {residue:<4} {line[22:66]}      PROA"
            lines.append(line)
    path.write_text("\n".join(lines + ["END"]) + "\n")
    return path


@pytest.mark.skipif(not PYMOL_1HPV.is_file(), reason="Debian pymol-data is not installed")
def test_old_layout_receptor_1hpv_docks(tmp_path):
    """pymol-data's 1HPV (pre-1996 layout: id code and serial in columns 73-80) prepares and docks."""
    out = tmp_path / "dock"
    args = ["dock", str(PYMOL_1HPV), "--ligand", "CC(=O)NC", "--out", str(out),
            "--box", "9.4,16.5,9.1,16,16,16", "--exhaustiveness", "1", "--poses", "2"]
    assert main(args) == 0
    record = json.loads(next(out.glob("1hpv__*.dock.json")).read_text())
    assert record["poses"] and record["poses"][0]["vina_kcal_mol"] < 0
    assert all(set(pose["posebusters"]) == {"passed", "failed"} for pose in record["poses"])
    assert {"A:ASP25", "B:ASP25"} & set(record["pocket_residues"])
    complex_pdb = gemmi.read_structure(str(next(out.glob("*.complex.pdb"))))
    assert {ch.name for ch in complex_pdb[0]} == {"A", "B", "Z"}
    assert not any(res.name == "HOH" or res.name == "478" for ch in complex_pdb[0] for res in ch)


def test_charmm_layout_receptor_pockets_and_prep(pr_lbd, tmp_path, capsys):
    """A CHARMM-layout file (no elements, blank chain, segment id) reads like the original in pockets and dock."""
    from remyfold.dock.receptor_prep import receptor_pdbqt

    charmm = _charmm_layout(pr_lbd, tmp_path / "pr_charmm.pdb")
    original, rewritten = load_receptor(pr_lbd), load_receptor(charmm)
    assert np.allclose(original.coords, rewritten.coords)
    assert {key[0] for key in rewritten.residues} == {"A"}  # the blank chain gets a letter
    assert rewritten.protein.chain_labels == {"A": "PROA"}
    elements = {a.element.name for ch in rewritten.protein.structure[0] for r in ch for a in r}
    assert elements == {"C", "N", "O", "S"}
    tops = []
    for path in (charmm, pr_lbd):
        assert main(["pockets", str(path), "--json", "--top", "1"]) == 0
        tops.append(json.loads(capsys.readouterr().out)["pockets"][0])
    assert tops[0]["volume_A3"] == tops[1]["volume_A3"] and tops[0]["residues"] == tops[1]["residues"]
    prepared = receptor_pdbqt(rewritten)
    assert prepared.excluded == () and all(item.split()[-1] == "HIS" for item in prepared.renamed)
    assert len(prepared.renamed) == sum(name == "HIS" for name in original.residue_names.values())


def _predicted_pr(pr_lbd: Path, plddt: float):
    """A synthetic remyfold Prediction of 1A28 chain A's protein with one pLDDT everywhere."""
    from remyfold.io.residues import RESTYPES_WITH_X
    from remyfold.io.structure_reader import read_chains
    from remyfold.prediction import Chain, Prediction

    (chain,) = read_chains(pr_lbd)
    positions, mask = chain.atom37()
    n = chain.length
    return Prediction(id="pr", chains=[Chain("A", chain.sequence)],
                      aatype=np.array([RESTYPES_WITH_X.find(c) for c in chain.sequence]),
                      positions=positions.astype(np.float32), atom_mask=mask,
                      plddt=np.full((n, 37), plddt, np.float32), pae=np.zeros((n, n), np.float32), ptm=0.5,
                      chain_index=np.zeros(n, int), residue_number=np.arange(1, n + 1), num_recycles=0)


@pytest.mark.parametrize("suffix", [".cif", ".pdb"])
def test_remyfold_model_keeps_pocket_plddt_in_either_format(pr_lbd, tmp_path, capsys, suffix):
    """A remyfold model is recognised from its metadata (ModelCIF software / title, PDB title)."""
    from remyfold.io.structure_writer import to_mmcif_string, to_pdb_string

    pred = _predicted_pr(pr_lbd, 55.0)
    path = tmp_path / f"pr_model{suffix}"
    path.write_text(to_mmcif_string(pred) if suffix == ".cif" else to_pdb_string(pred))
    assert main(["pockets", str(path), "--json", "--top", "2"]) == 0
    pockets = json.loads(capsys.readouterr().out)["pockets"]
    assert pockets and all(p["mean_plddt"] == pytest.approx(55.0) and p["low_confidence"] for p in pockets)
    if suffix == ".cif":  # the ModelCIF software rows alone are enough
        untitled = tmp_path / "untitled.cif"
        untitled.write_text(path.read_text().replace("_struct.title", "_struct.pdbx_descriptor"))
        assert load_receptor(untitled).plddt is not None
        experimental = tmp_path / "experimental.cif"
        gemmi_st = gemmi.read_structure(str(pr_lbd))
        gemmi_st.setup_entities()
        experimental.write_text(gemmi_st.make_mmcif_document().as_string())
        assert load_receptor(experimental).plddt is None


def _rca(pdb_path: Path, keep, tmp_path: Path, name: str, edit=None) -> Path:
    """A small receptor cut from a real structure: chain A residues ``keep`` (a predicate on the number),
    optionally edited in place by ``edit(chain)``; written by gemmi."""
    st = gemmi.read_structure(str(pdb_path))
    st.remove_ligands_and_waters()
    chain = st[0]["A"]
    for i in reversed(range(len(chain))):
        if not keep(chain[i].seqid.num):
            del chain[i]
    if edit is not None:
        edit(chain)
    path = tmp_path / f"{name}.pdb"
    path.write_text(st.make_pdb_string())
    return path


def _prepare(path: Path):
    from remyfold.dock.receptor_prep import receptor_pdbqt

    receptor = load_receptor(path)
    prepared = receptor_pdbqt(receptor)
    atoms = [line for line in prepared.pdbqt.splitlines() if line.startswith("ATOM")]
    residues = {(line[21], int(line[22:26])) for line in atoms}
    return receptor, prepared, residues


def test_serines_in_charmm_atom_order_are_kept(pr_lbd, tmp_path):
    """Atoms in CHARMM/PDBQT order (N CA CB OG C O) no longer lose every serine."""
    def charmm_order(chain):
        for residue in chain:
            if residue.name == "SER":
                atoms = {a.name: a.clone() for a in residue}
                for i in reversed(range(len(residue))):
                    del residue[i]
                for name in ("N", "CA", "CB", "OG", "C", "O"):
                    residue.add_atom(atoms[name])

    path = _rca(pr_lbd, lambda n: 705 <= n <= 740, tmp_path, "ser_order", charmm_order)
    assert [a.name for r in gemmi.read_structure(str(path))[0]["A"] if r.name == "SER" for a in r][:6] == \
        ["N", "CA", "CB", "OG", "C", "O"]
    receptor, prepared, residues = _prepare(path)
    serines = {(c, n) for (c, n, _i), name in receptor.residue_names.items() if name == "SER"}
    assert len(serines) >= 4 and serines <= residues and prepared.excluded == ()
    assert len(residues) == len(receptor.residue_names)


def test_salt_bridge_bonded_by_proximity_keeps_both_residues(pr_lbd, tmp_path):
    """An Arg–Glu pair closer than Meeko's bond cut-off (a distorted model) keeps both residues."""
    st = gemmi.read_structure(str(pr_lbd))
    chain = st[0]["A"]
    contacts = [(n.pos.dist(o.pos), r.seqid.num, e.seqid.num, n.name, o.name)
                for r in chain if r.name == "ARG" for e in chain if e.name == "GLU"
                for n in r if n.name in ("NE", "NH1", "NH2") for o in e if o.name in ("OE1", "OE2")]
    distance, *numbers, n_name, o_name = min(contacts)
    assert distance < 3.5  # a real salt bridge of 1A28
    target = next(r for r in chain if r.seqid.num == numbers[0])[n_name][0].pos

    def squeeze(chain):  # move the (isolated) Glu so that its oxygen sits 1.4 Å from the Arg nitrogen
        res = next(r for r in chain if r.seqid.num == numbers[1])
        oxygen = res[o_name][0].pos
        shift = (target - oxygen) * (1 - 1.4 / oxygen.dist(target))
        for atom in res:
            atom.pos = atom.pos + shift

    path = _rca(pr_lbd, lambda n: abs(n - numbers[0]) <= 3 or n == numbers[1], tmp_path, "salt_bridge", squeeze)
    receptor, prepared, residues = _prepare(path)
    assert {("A", n) for n in numbers} <= residues and prepared.excluded == ()


def test_unknown_residue_is_excluded_listed_and_warned(pr_lbd, tmp_path, capsys):
    """A residue no template knows is the one kind still excluded: listed in REMARKs, the record and stderr."""
    def rename(chain):
        next(r for r in chain if r.seqid.num == 719).name = "ZZQ"  # an amino acid by backbone only

    path = _rca(pr_lbd, lambda n: 700 <= n <= 780, tmp_path, "unknown", rename)
    receptor, prepared, residues = _prepare(path)
    assert prepared.excluded == ("A:ZZQ719",) and ("A", 719) not in residues
    assert "REMARK   excluded by Meeko (no template match, or not buildable): A:ZZQ719" in prepared.pdbqt.splitlines()
    centre = receptor.coords[[k == ("A", 719, "") for k in receptor.residues]].mean(axis=0)
    box = ",".join(f"{v:.2f}" for v in centre) + ",14,14,14"
    out = tmp_path / "dock"
    assert main(["dock", str(path), "--ligand", "CCO", "--out", str(out), "--box", box,
                 "--exhaustiveness", "1", "--poses", "1"]) == 0
    record = json.loads(next(out.glob("*.dock.json")).read_text())
    assert record["receptor_prep"]["excluded_residues"] == ["A:ZZQ719"]
    assert record["receptor_prep"]["excluded_residues_in_box"] == ["A:ZZQ719"]
    assert record["receptor_prep"]["ph"] == 7.4
    assert "A:ZZQ719" in capsys.readouterr().err


def test_record_holds_settings_and_versions_and_a_changed_rerun_redoes_the_pair(pr_lbd, tmp_path):
    """The record stores what the result depends on; the same settings skip, other settings redo."""
    from dataclasses import replace

    from remyfold.dock.box import Box
    from remyfold.dock.ligand import LigandSpec
    from remyfold.dock.runner import DockJob, run_docking
    from remyfold.dock.vina_dock import DockSettings

    centre = tuple(float(v) for v in ligand_centre(crystal_ligand_from_structure(pr_lbd, "STR", "A", PROGESTERONE)))
    near = {r.seqid.num for r in gemmi.read_structure(str(pr_lbd))[0]["A"]
            if any(a.pos.dist(gemmi.Position(*centre)) < 14.0 for a in r)}
    site = _rca(pr_lbd, near.__contains__, tmp_path, "site")  # the residues around the pocket: a quick prep
    job = DockJob((site,), (LigandSpec("ethylamine", smiles="CCN"),), tmp_path / "out",
                  box=Box(centre, (12.0, 12.0, 12.0)), settings=DockSettings(exhaustiveness=1, poses=2, searches=2))
    record_path = tmp_path / "out" / "site__ethylamine.dock.json"

    def run(changed: DockJob) -> tuple[dict, int]:
        run_docking(changed, progress=False)
        return json.loads(record_path.read_text()), record_path.stat().st_mtime_ns

    record, stamp = run(job)
    request = record["request"]
    assert request["search"] == {"exhaustiveness": 1, "seed": 42, "poses": 2, "searches": 2, "seeds": [42, 43],
                                 "ranking": "vina"}
    assert request["site"] == {"box": [*centre, 12.0, 12.0, 12.0]} and request["receptor_prep"]["ph"] == 7.4
    assert request["ligand_prep"] == {"charges": "ph", "ph": 7.4}
    assert record["ligand_prep"]["smiles_docked"] == "CC[NH3+]"  # the amine docked as at pH 7.4
    assert record["ligand_prep"]["changed"] == ["aliphatic amine at N2"] and record["ligand_prep"]["near_pka"] == []
    assert set(request["versions"]) >= {"remyfold", "vina", "meeko", "rdkit", "pdbfixer", "openmm"}
    assert len(record["searches"]["top_pose_rmsd_to_first_search"]) == 1 and "agree" in record["searches"]
    assert run(job) == (record, stamp)  # same settings: skipped
    for changed in (replace(job, settings=replace(job.settings, seed=7)),
                    replace(job, box=Box(centre, (13.0, 12.0, 12.0))),
                    replace(job, settings=replace(job.settings, exhaustiveness=2)),
                    replace(job, prep=replace(job.prep, ligand_charges="as-given"))):
        new_record, new_stamp = run(changed)
        assert new_stamp != stamp and new_record["request"] == json.loads(json.dumps(new_record["request"]))
        assert new_record["request"] != request
        stamp, request = new_stamp, new_record["request"]
    assert new_record["ligand_prep"] == {"charges": "as-given"}


def test_disagreeing_searches_are_reported():
    from remyfold.dock.vina_dock import DockResult, DockSettings

    assert DockResult([], (0.4, 1.9)).searches_agree
    disagree = DockResult([], (0.4, 11.0))
    assert not disagree.searches_agree and disagree.as_dict()["agree"] is False
    defaults = DockSettings()
    assert defaults.exhaustiveness == 32 and defaults.searches == 2 and defaults.cores() >= 1


def test_pose_hydrogens_relaxed_and_posebusters_flags_a_clash(pr_lbd, tmp_path):
    """An H–H contact is relaxed away (heavy atoms fixed); a pose pushed into the protein fails PoseBusters."""
    from rdkit import Chem
    from rdkit.Chem import AllChem
    from rdkit.Geometry import Point3D

    from remyfold.dock.pose_checks import check_poses, min_hh_distance, relax_hydrogens

    pytest.importorskip("posebusters")
    crystal = crystal_ligand_from_structure(pr_lbd, "STR", "A", PROGESTERONE)
    pose = Chem.AddHs(Chem.MolFromSmiles("OCC(O)CO"))
    AllChem.EmbedMolecule(pose, randomSeed=5)
    conformer = pose.GetConformer()
    shift = ligand_centre(crystal) - conformer.GetPositions().mean(axis=0)
    hydroxyl = [a.GetIdx() for a in pose.GetAtoms() if a.GetAtomicNum() == 1 and a.GetNeighbors()[0].GetSymbol() == "O"]
    for i, xyz in enumerate(conformer.GetPositions() + shift):
        conformer.SetAtomPosition(i, Point3D(*xyz))
    first, second = conformer.GetAtomPosition(hydroxyl[0]), conformer.GetAtomPosition(hydroxyl[1])
    conformer.SetAtomPosition(hydroxyl[1], first + (second - first) * (1.0 / (second - first).Length()))  # 1.0 Å
    assert min_hh_distance(pose) < 1.05
    relaxed = relax_hydrogens(pose)
    heavy = [a.GetIdx() for a in pose.GetAtoms() if a.GetAtomicNum() > 1]
    assert min_hh_distance(relaxed) >= 1.5
    assert np.allclose(relaxed.GetConformer().GetPositions()[heavy], conformer.GetPositions()[heavy])
    receptor = load_receptor(pr_lbd)
    clash = Chem.Mol(relaxed)
    ca = receptor.coords[[k == ("A", 756, "") for k in receptor.residues]].mean(axis=0)  # into Met756's atoms
    moved = clash.GetConformer()
    offset = ca - moved.GetPositions().mean(axis=0)
    for i, xyz in enumerate(moved.GetPositions() + offset):
        moved.SetAtomPosition(i, Point3D(*xyz))
    in_pocket, clashing = check_poses([relaxed, clash], receptor.pdb)
    assert in_pocket == {"passed": True, "failed": []}
    assert not clashing["passed"] and "minimum_distance_to_protein" in clashing["failed"]
