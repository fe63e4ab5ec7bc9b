"""Docked poses in the report: section, table and the 3D view (ligand sticks, pocket residues) in Chromium."""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path

import gemmi
import pytest
from report_fixtures import make_prediction_folder
from test_report_browser import ARTIFACTS, find_browser, open_report, png_pixels

from remyfold.cli import main
from remyfold.errors import InputError
from remyfold.report.docking import add_docking, load_docking


def write_docking_folder(folder: Path) -> Path:
    """Two pairs as `remyfold dock` writes them, from 1A28 chain A with its progesterone renamed LIG (chain Z)."""
    data = Path(next(iter(find_spec("MDAnalysisTests").submodule_search_locations))) / "data"
    st = gemmi.read_structure(str(data / "1a28.pdb.gz"))
    st.setup_entities()
    protein, ligand = [], []
    for line in st.make_pdb_string().splitlines():
        if line.startswith("ATOM") and line[21] == "A":
            protein.append(line)
        elif line.startswith("HETATM") and line[17:20] == "STR" and line[21] == "A":
            ligand.append(line[:17] + "LIG Z" + line[22:])
    complex_pdb = "\n".join(protein + ligand + ["END"]) + "\n"
    rows = ["receptor\tligand\tpocket\tpose_rank\tvina_kcal_mol\tpocket_mean_plddt"]
    for ligand_name, score, plddt in (("progesterone", -11.4, None), ("bexarotene<b>", -6.0, 55.5)):
        stem = folder / f"1a28_A__{ligand_name}"
        Path(f"{stem}.complex.pdb").write_text(complex_pdb)
        record = {"receptor": "1a28_A", "ligand": ligand_name, "pocket": "1", "pocket_mean_plddt": plddt,
                  "pocket_residues": ["A:LEU715", "A:MET756", "A:ARG766", "A:PHE778"],
                  "poses": [{"rank": 1, "vina_kcal_mol": score}, {"rank": 2, "vina_kcal_mol": score + 1}]}
        Path(f"{stem}.dock.json").write_text(json.dumps(record))
        rows.append(f"1a28_A\t{ligand_name}\t1\t1\t{score}\t{'' if plddt is None else plddt}")
    (folder / "dock_summary.tsv").write_text("\n".join(rows) + "\n")
    return folder


def test_docking_section_html(tmp_path):
    pairs = load_docking(write_docking_folder(tmp_path))
    html = add_docking("<html><body><main></main></body></html>", pairs)
    assert '<section id="docking">' in html and html.count("<tr data-pair=") == 2
    assert "bexarotene&lt;b&gt;" in html and "bexarotene<b>" not in html.split('id="remyfold-docking"')[0]
    assert "-11.40" in html and '55.5 <span class="low">low</span>' in html


def test_report_of_a_dock_folder_alone(tmp_path, capsys):
    """`remyfold report DOCKDIR`: the docking section, no empty predictions table."""
    (tmp_path / "dock").mkdir()
    folder = write_docking_folder(tmp_path / "dock")
    assert main(["report", str(folder)]) == 0
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert '<section id="docking">' in html and 'id="summary"' not in html
    assert capsys.readouterr().out.strip() == str(folder / "report.html")


def test_report_without_docking_results_is_one_line_error(tmp_path, capsys):
    folder = make_prediction_folder(tmp_path / "pred")
    (tmp_path / "empty").mkdir()
    assert main(["report", str(folder), "--dock", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no docking results" in err


def test_browser_shows_the_docked_ligand_and_pocket(tmp_path):
    find_browser()
    folder = make_prediction_folder(tmp_path / "pred")
    write_docking_folder(folder)
    browser, page = open_report(folder, tmp_path / "profile")
    try:
        page.wait_for("window.remyfoldDocking && window.remyfoldDocking.rendered >= 1")
        assert page.evaluate("window.remyfoldDocking.shown") == "1a28_A · bexarotene<b>"  # sorted by file name
        page.evaluate("document.getElementById('docking').scrollIntoView()")
        page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        rect = page.evaluate(
            "(() => { const r = document.querySelector('.dock-viewer canvas').getBoundingClientRect();"
            " return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}; })()"
        )
        shot = page.screenshot(rect)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "report_docking.png").write_bytes(shot)
        pixels = png_pixels(shot).astype(int)
        red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
        assert ((pixels < 245).any(axis=2)).mean() > 0.01, "the docking view is blank"
        assert ((green - red > 60) & (green - blue > 60)).sum() > 30, "no green ligand sticks drawn"
        assert page.evaluate("document.querySelectorAll('table.docking tbody tr').length") == 2
        page.evaluate("(() => { const s = document.getElementById('dock-pair'); s.value = '1';"
                      " s.dispatchEvent(new Event('change')); })()")
        assert page.wait_for("window.remyfoldDocking.rendered >= 2")
        assert page.evaluate("window.remyfoldDocking.shown") == "1a28_A · progesterone"
        assert page.console_errors() == []
    finally:
        browser.close()


def test_docking_table_shows_the_top_pose_posebusters_verdict(tmp_path):
    folder = write_docking_folder(tmp_path)
    verdicts = {"progesterone": {"passed": True, "failed": []},
                "bexarotene<b>": {"passed": False, "failed": ["minimum_distance_to_protein"]}}
    for name, check in verdicts.items():
        path = folder / f"1a28_A__{name}.dock.json"
        record = json.loads(path.read_text())
        record["poses"][0]["posebusters"] = check
        path.write_text(json.dumps(record))
    html = add_docking("<html><body><main></main></body></html>", load_docking(folder))
    assert "<th>top pose PoseBusters</th>" in html
    assert "<td>pass</td>" in html and '<span class="low">fail</span> (minimum_distance_to_protein)' in html


def test_docking_table_says_how_many_pockets_were_docked(tmp_path):
    folder = write_docking_folder(tmp_path)
    path = folder / "1a28_A__progesterone.dock.json"
    record = json.loads(path.read_text())
    record.update(pocket="2", pockets_docked=[{"rank": 1}, {"rank": 2}, {"rank": 3}])
    path.write_text(json.dumps(record))
    html = add_docking("<html><body><main></main></body></html>", load_docking(folder))
    assert "<td>2 (of 3 docked)</td>" in html and "<td>1</td>" in html  # the other record: one pocket


def test_docking_table_says_whether_the_top_pose_is_clear(tmp_path):
    folder = write_docking_folder(tmp_path)
    tops = {"progesterone": {"clear": True, "rival_ranks": [], "margin_kcal_mol": 0.3, "rival_rmsd": 2.0},
            "bexarotene<b>": {"clear": False, "rival_ranks": [2, 5], "margin_kcal_mol": 0.3, "rival_rmsd": 2.0}}
    for name, top in tops.items():
        path = folder / f"1a28_A__{name}.dock.json"
        record = json.loads(path.read_text())
        record["top_pose"] = top
        path.write_text(json.dumps(record))
    html = add_docking("<html><body><main></main></body></html>", load_docking(folder))
    assert "<th>top pose clear</th>" in html and "<td>yes</td>" in html
    assert '<span class="low">no</span> (poses 2, 5 within 0.3 kcal/mol, &gt; 2 Å away)' in html
    del record["top_pose"]  # a record made before the check: a dash, no error
    path.write_text(json.dumps(record))
    assert "<td>—</td>" in add_docking("<html><body><main></main></body></html>", load_docking(folder))
    record["top_pose"] = {"clear": "maybe"}  # damaged: one line naming the file
    path.write_text(json.dumps(record))
    with pytest.raises(InputError, match="top_pose entry is damaged"):
        load_docking(folder)


def test_docking_table_of_poses_ranked_by_autodock4(tmp_path):
    """Ranked by AutoDock4 (--ranking ad4): the AD4 score beside Vina's, and the agreement rule's wording."""
    folder = write_docking_folder(tmp_path)
    path = folder / "1a28_A__bexarotene<b>.dock.json"
    record = json.loads(path.read_text())
    record["poses"][0] |= {"ad4_kcal_mol": -7.25, "vina_rank": 2}
    record["top_pose"] = {"clear": False, "rival_ranks": [2], "margin_kcal_mol": 0.3, "rival_rmsd": 2.0,
                          "ranking": "ad4"}
    path.write_text(json.dumps(record))
    html = add_docking("<html><body><main></main></body></html>", load_docking(folder))
    assert "<td>-6.00 (ranked by AutoDock4: -7.25)</td>" in html and "<td>-11.40</td>" in html
    assert ("<span class=\"low\">no</span> (poses 2, &gt; 2 Å away: Vina's and AutoDock4's scores do not agree "
            "on one binding mode)") in html
