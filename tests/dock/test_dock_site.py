"""Known docking sites (issue 19.4): ``--site-ligand``, ``--site-residues``, ``--site-from``.

Real data: 1A28 (progesterone receptor LBD, progesterone STR in chains A and B; examples/). The
homolog cases superpose a rigidly moved copy of 1A28 (or of its chain B) back onto the receptor
with ``compare``'s pairing and superposition, so the box must land on the crystal ligand's; an
unrelated protein (HIV protease 1HVR with its inhibitor XK2, ``mdanalysistests``) must be refused.
The site → box functions are tested directly; one small docking run checks the CLI and the record.
"""

from __future__ import annotations

import json
from pathlib import Path

import gemmi
import numpy as np
import pytest

from remyfold.cli import main
from remyfold.dock.box import box_around
from remyfold.dock.errors import DockError
from remyfold.dock.receptor import load_receptor
from remyfold.dock.site import find_ligand, ligand_file_points, parse_site, resolve_site
from structure_data import package_dir

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "1a28.pdb.gz"
#: The extent (Å) of the ligand docked, as box_around takes it (progesterone is about 11 Å across).
EXTENT = 11.0


def _rotation(axis, degrees: float) -> np.ndarray:
    """``[3, 3]`` rotation about ``axis`` by ``degrees`` (Rodrigues' formula)."""
    axis = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    angle = np.radians(degrees)
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def _write(path: Path, keep_chains=("A", "B"), rotation=np.eye(3), shift=(0.0, 0.0, 0.0),
           keep_residue=lambda chain, num: True, renumber: int = 0) -> Path:  # fmt: skip
    """1A28 with only ``keep_chains`` and residues ``keep_residue``, every atom moved by ``x R^T + shift``,
    residue numbers shifted by ``renumber``."""
    st = gemmi.read_structure(str(EXAMPLE))
    st.remove_waters()
    model = st[0]
    for name in [ch.name for ch in model if ch.name not in keep_chains]:
        model.remove_chain(name)
    for ch in model:
        for i in reversed(range(len(ch))):
            if not keep_residue(ch.name, ch[i].seqid.num):
                del ch[i]
        for res in ch:
            res.seqid = gemmi.SeqId(res.seqid.num + renumber, res.seqid.icode)
            for atom in res:
                x = np.array([atom.pos.x, atom.pos.y, atom.pos.z]) @ rotation.T + np.asarray(shift)
                atom.pos = gemmi.Position(*x)
    path.write_text(st.make_pdb_string())
    return path


@pytest.fixture(scope="module")
def receptor():
    return load_receptor(EXAMPLE)


@pytest.fixture(scope="module")
def crystal_a() -> np.ndarray:
    """Heavy atoms ``[23, 3]`` of progesterone in chain A."""
    return find_ligand(EXAMPLE, "A:STR", "test").points


@pytest.fixture(scope="module")
def moved_copy(tmp_path_factory) -> Path:
    """All of 1A28 rotated by 70° about (1, 2, 3) and shifted by (40, -25, 13) Å."""
    return _write(tmp_path_factory.mktemp("homolog") / "moved.pdb", rotation=_rotation((1, 2, 3), 70.0),
                  shift=(40.0, -25.0, 13.0))  # fmt: skip


def _assert_close_boxes(box, expected, tolerance: float) -> None:
    assert np.abs(np.subtract(box.centre, expected.centre)).max() <= tolerance, (box, expected)
    assert np.abs(np.subtract(box.size, expected.size)).max() <= tolerance, (box, expected)


def test_site_ligand_from_sdf_and_from_the_structure(receptor, crystal_a, tmp_path):
    """An SDF of the crystal ligand and ``FILE:CHAIN:LIG`` give the same box, holding the whole ligand."""
    Chem = pytest.importorskip("rdkit.Chem")
    mol = Chem.MolFromPDBBlock(_ligand_pdb("A"), removeHs=True, proximityBonding=True)
    sdf = tmp_path / "progesterone.sdf"
    with Chem.SDWriter(str(sdf)) as writer:
        writer.write(mol)
    from_sdf = resolve_site(parse_site("ligand", str(sdf)), receptor)
    from_structure = resolve_site(parse_site("ligand", f"{EXAMPLE}:A:STR"), receptor)
    np.testing.assert_allclose(np.sort(from_sdf.points, axis=0), np.sort(crystal_a, axis=0), atol=1e-3)
    box = box_around(from_sdf.points, EXTENT)
    assert box.contains(crystal_a).all() and box == box_around(from_structure.points, EXTENT)
    # A ligand-only PDB file needs no residue name; the 1A28 file (two STR) does.
    single = tmp_path / "ligand.pdb"
    single.write_text(_ligand_pdb("B"))
    points, label = ligand_file_points(str(single))
    assert label == "ligand.pdb:B:STR:2" and points.shape == (23, 3)
    with pytest.raises(DockError, match="holds 2 ligand residues"):
        ligand_file_points(str(EXAMPLE))


def _ligand_pdb(chain: str) -> str:
    """PDB text of the STR residue of ``chain`` alone."""
    st = gemmi.read_structure(str(EXAMPLE))
    st.remove_waters()
    model = st[0]
    for ch in model:
        for i in reversed(range(len(ch))):
            if ch.name != chain or ch[i].name != "STR":
                del ch[i]
    st.remove_empty_chains()
    return st.make_pdb_string()


def test_site_residues_box_holds_progesterone(receptor, crystal_a):
    """Residues lining both ends of the pocket (3-keto: Gln725, Arg766; 17-acetyl: Asn719, Cys891) and Met756."""
    site = resolve_site(parse_site("residues", "A:GLN725,A:ARG766,A:MET756,A:719,A:CYS891"), receptor)
    assert site.details["residues"] == ["A:GLN725", "A:ARG766", "A:MET756", "A:ASN719", "A:CYS891"]
    assert box_around(site.points, EXTENT).contains(crystal_a).all()
    # Their heavy atoms only: Gln 9, Arg 11, Met 8, Asn 8, Cys 6.
    assert len(site.points) == 9 + 11 + 8 + 8 + 6


@pytest.mark.parametrize(("value", "message"), [
    ("A:725,A:GLY766,C:5", "A:GLY766 is ARG; C:5 is missing"),
    ("A:725,766", "'766' is not CHAIN:NUMBER"),
])  # fmt: skip
def test_site_residues_errors_name_the_residues(receptor, value, message):
    with pytest.raises(DockError, match=message):
        resolve_site(parse_site("residues", value), receptor)


def test_site_from_a_moved_copy_lands_on_the_crystal_ligand(receptor, crystal_a, moved_copy):
    """The moved copy superposes back exactly (TM 1): the box is the crystal ligand's, within 1 Å."""
    site = resolve_site(parse_site("from", f"{moved_copy}:A:STR"), receptor)
    assert np.abs(site.points - crystal_a).max() < 0.01
    _assert_close_boxes(box_around(site.points, EXTENT), box_around(crystal_a, EXTENT), 1.0)
    details = site.details
    assert details["tm_score"] >= 0.99 and details["rmsd"] < 0.01 and details["homolog_chain"] == "A"
    assert details["receptor_chain"] == "A" and details["pairing"] == "numbering"
    assert details["lining_residues_paired"].split("/")[0] == details["lining_residues_paired"].split("/")[1]


def test_site_from_chain_b_onto_a_chain_a_receptor(crystal_a, tmp_path):
    """The other copy of the complex (chain B, moved) carries its progesterone onto chain A's site."""
    receptor_a = load_receptor(_write(tmp_path / "chain_a.pdb", keep_chains=("A",)))
    homolog_b = _write(tmp_path / "chain_b.pdb", keep_chains=("B",), rotation=_rotation((0, 1, -1), 150.0),
                       shift=(-30.0, 5.0, 60.0))  # fmt: skip
    site = resolve_site(parse_site("from", f"{homolog_b}:STR"), receptor_a)
    assert site.details["receptor_chain"] == "A" and site.details["homolog_chain"] == "B"
    assert site.details["tm_score"] > 0.9
    _assert_close_boxes(box_around(site.points, EXTENT), box_around(crystal_a, EXTENT), 1.0)
    assert np.linalg.norm(site.points.mean(axis=0) - crystal_a.mean(axis=0)) < 1.0


def test_site_from_a_renumbered_copy_is_paired_by_sequence(crystal_a, tmp_path):
    """Residue numbers that disagree (shifted by 1000): compare's sequence alignment pairs the chains."""
    homolog = _write(tmp_path / "renumbered.pdb", keep_chains=("A",), rotation=_rotation((2, -1, 0), 40.0),
                     shift=(5.0, 5.0, -20.0), renumber=1000)  # fmt: skip
    site = resolve_site(parse_site("from", f"{homolog}:STR"), load_receptor(EXAMPLE))
    assert site.details["pairing"] == "alignment" and site.details["tm_score"] >= 0.99
    assert np.abs(site.points - crystal_a).max() < 0.01


@pytest.mark.parametrize(("homolog", "message"), [
    ("hvr:XK2", "poor superposition of 1hvr.pdb chain A on receptor chain A .TM-score 0.3"),
    ("hvr:STR", r"no ligand residue STR in 1hvr.pdb \(ligand residues: XK2\)"),
    ("moved:C:STR", "no ligand residue C:STR"),
    ("moved:A:STR:x", "is not RESNAME, CHAIN:RESNAME or CHAIN:RESNAME:NUMBER"),
    ("moved.pdb", "give HOMOLOG.pdb|cif:LIG"),
])  # fmt: skip
def test_site_from_refusals(receptor, moved_copy, homolog, message):
    path = package_dir("mdanalysistests") / "1hvr.pdb" if homolog.startswith("hvr") else moved_copy
    value = str(path) if ":" not in homolog else f"{path}:{homolog.split(':', 1)[1]}"
    with pytest.raises(DockError, match=message) as caught:
        resolve_site(parse_site("from", value), receptor)
    assert "\n" not in str(caught.value)


def test_site_from_refuses_a_site_the_receptor_lacks(crystal_a, tmp_path):
    """A receptor without the residues around the ligand (716-810 cut away): the site is not in it."""
    cut = load_receptor(_write(tmp_path / "cut.pdb", keep_chains=("A",),
                               keep_residue=lambda chain, num: not 700 <= num <= 810))  # fmt: skip
    with pytest.raises(DockError, match="residues lining A:STR:1 .* have a receptor partner: the site is not"):
        resolve_site(parse_site("from", f"{EXAMPLE}:A:STR"), cut)


def test_missing_site_file_is_refused():
    with pytest.raises(DockError, match="no such file"):
        parse_site("from", "/nonexistent/4k6i.cif:9CR")


@pytest.mark.slow
def test_cli_site_residues_docks_records_the_site_and_a_new_site_redoes(tmp_path, capsys):
    """``remyfold dock --site-residues``: the box around those residues, the site in the record and request;
    ``--site-from`` instead redoes the pair; two site options together exit 2."""
    pytest.importorskip("vina")
    pytest.importorskip("meeko")
    near = set(int(n) for n in range(714, 802)) | set(range(885, 915))  # the pocket's surroundings: quick prep
    small = _write(tmp_path / "pocket.pdb", keep_chains=("A",), keep_residue=lambda chain, num: num in near)
    out = tmp_path / "out"
    common = ["dock", str(small), "--ligand", "CCO", "--out", str(out), "--exhaustiveness", "1", "--searches", "1",
              "--poses", "1"]  # fmt: skip
    assert main([*common, "--site-residues", "A:725,A:766"]) == 0
    record = json.loads(next(out.glob("*.dock.json")).read_text())
    assert record["pocket"] == "site" and record["site"] == {"residues": ["A:GLN725", "A:ARG766"]}
    assert record["request"]["site"] == {"site": "residues", "value": "A:725,A:766", "sha256": None}
    receptor = load_receptor(small)
    expected = box_around(resolve_site(parse_site("residues", "A:725,A:766"), receptor).points, 0.0)
    assert record["box"]["centre"] == pytest.approx(list(expected.centre))
    assert main([*common, "--site-from", f"{EXAMPLE}:A:STR"]) == 0
    redone = json.loads(next(out.glob("*.dock.json")).read_text())
    assert redone["request"]["site"]["site"] == "from" and len(redone["request"]["site"]["sha256"]) == 64
    assert redone["site"]["tm_score"] >= 0.99 and redone["box"] != record["box"]
    for other in (["--box", "1,2,3,20,20,20"], ["--site-ligand", str(EXAMPLE)], ["--pocket", "1"]):
        with pytest.raises(SystemExit) as exited:  # argparse: mutually exclusive options
            main([*common, "--site-residues", "A:725", *other])
        assert exited.value.code == 2
    capsys.readouterr()
    fresh = ["--out", str(tmp_path / "fresh")]
    assert main([*common, *fresh, "--site-residues", "A:725,Z:1"]) == 2  # a missing residue: one line, exit 2
    assert capsys.readouterr().err.strip().count("\n") == 0 and not (tmp_path / "fresh").exists()


MOL2_ETHANOL = """@<TRIPOS>MOLECULE
ethanol
 3 2 0 0 0
SMALL
NO_CHARGES

@<TRIPOS>ATOM
      1 C1         24.0000    6.0000   65.0000 C.3     1  ETO1        0.0000
      2 C2         25.5000    6.0000   65.0000 C.3     1  ETO1        0.0000
      3 O1         26.0000    7.4000   65.0000 O.3     1  ETO1        0.0000
@<TRIPOS>BOND
     1     1     2    1
     2     2     3    1
"""


def test_site_ligand_from_mol2_and_unreadable_files(receptor, tmp_path):
    """A MOL2 file's heavy atoms (RDKit); an empty SDF and a ``.txt`` are refused in one line."""
    pytest.importorskip("rdkit")
    mol2 = tmp_path / "ethanol.mol2"
    mol2.write_text(MOL2_ETHANOL)
    site = resolve_site(parse_site("ligand", str(mol2)), receptor)
    np.testing.assert_allclose(site.points, [[24.0, 6.0, 65.0], [25.5, 6.0, 65.0], [26.0, 7.4, 65.0]])
    empty = tmp_path / "empty.sdf"
    empty.write_text("")
    with pytest.raises(DockError, match="no readable molecule with coordinates"):
        resolve_site(parse_site("ligand", str(empty)), receptor)
    text = tmp_path / "ligand.txt"
    text.write_text("C")
    with pytest.raises(DockError, match="give an .sdf or .mol2 file"):
        resolve_site(parse_site("ligand", str(text)), receptor)
