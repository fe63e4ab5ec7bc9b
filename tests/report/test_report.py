"""`remyfold report`: folder reading, scores, figures, HTML content and errors (no browser).

The viewer library is replaced by a stub script (see ``stub_viewer``) so these
tests do not need npm; tests/report/test_report_browser.py runs the real page.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import gemmi
import numpy as np
import pytest
from report_fixtures import DIMER_SCORES, HELIX_ATOMS, compare_result, make_prediction_folder, write_prediction

from remyfold.errors import InputError
from remyfold.report import build_report, scores, viewer
from remyfold.report.folder import load_folder, parse_chains
from remyfold.report.html import band_colour
from remyfold.report.plots import chain_boundaries

ODD_ID = "odd<b>&'\"id"
STUB_JS = "window.$3Dmol = {stub: true};"


class PageParser(HTMLParser):
    """Collects what the tests look at: scripts, images, headings, table cells, external refs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict, str]] = []
        self.images: list[str] = []
        self.text: dict[str, list[str]] = {"h2": [], "td": [], "th": []}
        self.external: list[str] = []
        self._open: str | None = None
        self._attrs: dict = {}
        self._data: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href"):
            if attrs.get(key) and not attrs[key].startswith(("data:", "#")):
                self.external.append(attrs[key])
        if tag == "img":
            self.images.append(attrs["src"])
        if tag in ("script", *self.text):
            self._open, self._attrs, self._data = tag, attrs, []

    def handle_data(self, data):
        if self._open:
            self._data.append(data)

    def handle_endtag(self, tag):
        if tag != self._open:
            return
        if tag == "script":
            self.scripts.append((self._attrs, "".join(self._data)))
        else:
            self.text[tag].append("".join(self._data))
        self._open = None


def parse_page(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture
def stub_viewer(tmp_path, monkeypatch):
    """A stand-in 3Dmol.js asset folder, so the HTML can be built without npm."""
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / viewer.LIBRARY_FILE).write_text(STUB_JS)
    (assets / viewer.LICENSE_FILE).write_text("stub licence")
    (assets / viewer.VERSION_FILE).write_text("0.0-test\n")
    monkeypatch.setattr(viewer, "ASSET_DIR", assets)
    return assets


@pytest.fixture
def folder(tmp_path):
    return make_prediction_folder(tmp_path / "pred")


def test_report_is_self_contained_with_same_figures_as_png_files(folder, stub_viewer):
    path = build_report(folder)
    assert path == folder / "report.html"
    page = parse_page(path)
    assert page.external == []
    assert [attrs.get("type") for attrs, _ in page.scripts] == ["application/json", None, None]
    assert STUB_JS in page.scripts[1][1] and "$3Dmol.createViewer" in page.scripts[2][1]
    for record_id in ("helix_mono", "helix_dimer", ODD_ID):
        for kind in ("plddt", "pae"):
            data = (folder / "report_files" / f"{record_id}.{kind}.png").read_bytes()
            assert data.startswith(b"\x89PNG\r\n\x1a\n")
            assert "data:image/png;base64," + base64.b64encode(data).decode() in page.images
    # the dimer's chain-pair matrices, for the complex only
    data = (folder / "report_files" / "helix_dimer.chain_pairs.png").read_bytes()
    assert "data:image/png;base64," + base64.b64encode(data).decode() in page.images
    matrices = sorted(p.name for p in (folder / "report_files").glob("*.chain_pairs.png"))
    assert matrices == ["helix_dimer.chain_pairs.png"]
    assert len(page.images) == 7


def test_models_are_embedded_with_their_format(folder, stub_viewer):
    page = parse_page(build_report(folder))
    models = json.loads(page.scripts[0][1])
    assert [(m["id"], m["format"]) for m in models] == [("helix_mono", "pdb"), ("helix_dimer", "cif"), (ODD_ID, "pdb")]
    assert models[1]["data"] == (folder / "helix_dimer.cif").read_text()


def test_summary_table_lists_failed_records_and_escapes_text(folder, stub_viewer):
    path = build_report(folder)
    page, raw = parse_page(path), path.read_text()
    assert ODD_ID in page.text["h2"] and ODD_ID in page.text["td"]
    assert '"X" sequence has <script>alert(1)</script> letters' in page.text["td"]
    assert "failed" in page.text["td"] and "A:30, B:20" in page.text["td"]
    assert "<b>&'" not in raw and "<script>alert" not in raw
    assert "TM-score" not in page.text["th"]


def test_compare_json_scores_are_shown(folder, stub_viewer):
    (folder / "helix_mono.compare.json").write_text(json.dumps(compare_result("helix_mono.pdb", "ref/1abc.pdb")))
    page = parse_page(build_report(folder))
    assert {"TM-score", "GDT-TS", "lDDT", "RMSD (Å)"} <= set(page.text["th"])
    row = page.text["td"][page.text["td"].index("helix_mono") - 1 :][:14]
    assert "0.812" in row and "1.23" in row


def test_bad_compare_json_is_an_input_error(folder, stub_viewer):
    (folder / "helix_mono.compare.json").write_text('{"tm_score": "high"}')
    with pytest.raises(InputError, match="tm_score"):
        build_report(folder)
    (folder / "helix_mono.compare.json").write_text("{not json")
    with pytest.raises(InputError, match="helix_mono.compare.json"):
        build_report(folder)


def test_reference_dir_scores_matching_records(folder, stub_viewer, tmp_path, monkeypatch):
    refs = tmp_path / "refs"
    refs.mkdir()
    with gzip.open(refs / "helix_dimer.cif.gz", "wt") as handle:
        handle.write((folder / "helix_dimer.cif").read_text())
    (folder / "helix_mono.compare.json").write_text(json.dumps(compare_result("m", "from-json")))
    calls = []

    def fake_compare(model, reference):
        calls.append((Path(model).name, Path(reference).name))
        return compare_result(str(model), str(reference)) | {"tm_score": 0.5}

    monkeypatch.setattr(scores, "_compare_function", lambda: fake_compare)
    records = load_folder(folder)
    scores.attach_scores(records, folder, refs)
    assert calls == [("helix_dimer.cif", "helix_dimer.cif.gz")]
    by_id = {r.id: r.scores for r in records}
    assert by_id["helix_dimer"]["tm_score"] == 0.5 and by_id["helix_mono"]["reference"] == "from-json"
    assert by_id[ODD_ID] is None and by_id["broken"] is None


def test_reference_dir_without_matches_warns_and_writes_the_report(folder, stub_viewer, tmp_path, capsys):
    """No file of --reference matches: one warning line on stderr, the report is written (without scores)."""
    from remyfold.commands import report as command

    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "unrelated.pdb").write_text((folder / "helix_mono.pdb").read_text())
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    assert command.run(parser.parse_args([str(folder), "--reference", str(tmp_path / "refs")])) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(folder / "report.html") and len(err.strip().splitlines()) == 1
    assert "TM-score" not in {h for h in parse_page(folder / "report.html").text["th"]}
    warnings = []
    build_report(folder, reference_dir=tmp_path / "refs", warn=warnings.append)
    assert len(warnings) == 1
    with pytest.raises(InputError, match="does not exist"):  # a folder that is not there stays an error
        build_report(folder, reference_dir=tmp_path / "missing")


def test_reference_dir_with_real_metrics(folder, stub_viewer, tmp_path):
    """The reference is the model with its last 6 residues moved 6 Å: each score column shows its own value."""
    from remyfold.metrics import compare_structures

    refs = tmp_path / "refs"
    refs.mkdir()
    st = gemmi.read_structure(str(folder / "helix_mono.pdb"))
    for res in list(st[0]["A"])[-6:]:
        for atom in res:
            atom.pos = gemmi.Position(atom.pos.x, atom.pos.y, atom.pos.z + 6.0)
    st.write_pdb(str(refs / "helix_mono.pdb"))
    expected = compare_structures(folder / "helix_mono.pdb", refs / "helix_mono.pdb")
    page = parse_page(build_report(folder, reference_dir=refs))
    head = page.text["th"][: page.text["th"].index("Error") + 1]
    row = dict(zip(head, page.text["td"][page.text["td"].index("helix_mono") - 1 :]))
    shown = {key: row[title] for key, title, _ in scores.TABLE_SCORES}
    assert shown == {key: fmt.format(expected[key]) for key, _, fmt in scores.TABLE_SCORES}
    assert len(set(shown.values())) == 4 and shown["tm_score"] != "1.000" and shown["rmsd"] != "0.00"
    assert (row["ID"], row["Status"], row["Length"]) == ("helix_mono", "ok", "40")


def test_custom_output_puts_pngs_beside_it(folder, stub_viewer, tmp_path):
    out = tmp_path / "out" / "my_run.html"
    assert build_report(folder, output=out) == out
    assert (tmp_path / "out" / "my_run_files" / "helix_mono.pae.png").is_file()
    with pytest.raises(InputError, match="is a folder"):
        build_report(folder, output=tmp_path)


def test_ok_row_without_files_is_listed_as_incomplete(folder, stub_viewer):
    (folder / "helix_mono.json").unlink()
    records = {r.id: r for r in load_folder(folder)}
    assert records["helix_mono"].status == "incomplete" and not records["helix_mono"].done
    assert "helix_mono.json missing" in records["helix_mono"].error


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: shutil.rmtree(d), "does not exist"),
        (lambda d: (d / "summary.tsv").unlink(), "no summary.tsv"),
        (lambda d: (d / "summary.tsv").write_text("id\tstatus\n"), "lists no predictions"),
        (lambda d: (d / "summary.tsv").write_text("id\tstatus\terror\nx\tfailed\toom\n"), "no finished predictions"),
        (lambda d: (d / "summary.tsv").write_text("name\tstatus\nx\tok\n"), "no column 'id'"),
        (lambda d: (d / "helix_mono.json").write_text("{broken"), "cannot read .*helix_mono.json"),
        (lambda d: (d / "helix_mono.json").write_text("[1, 2]"), "JSON object"),
    ],
)
def test_bad_folders_are_one_line_input_errors(folder, stub_viewer, damage, message):
    damage(folder)
    with pytest.raises(InputError, match=message) as info:
        build_report(folder)
    assert "\n" not in str(info.value)


def test_inconsistent_prediction_json_is_an_input_error(tmp_path, stub_viewer):
    folder = tmp_path / "pred"
    folder.mkdir()
    data = write_prediction(folder, "p", [("A", "MKV" * 5)])
    (folder / "summary.tsv").write_text("id\tstatus\n" + "p\tok\n")
    data["pae"] = data["pae"][:-1]
    (folder / "p.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"expected plddt \[N\] and pae \[N, N\]"):
        build_report(folder)
    data["pae"], data["chains"][0]["length"] = [[1.0] * 15] * 15, 14
    (folder / "p.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="chain lengths add up to 14"):
        build_report(folder)


def test_missing_viewer_asset_says_how_to_install(folder, stub_viewer):
    (stub_viewer / viewer.LIBRARY_FILE).unlink()
    with pytest.raises(InputError, match="install_viewer.sh"):
        build_report(folder)


def test_command_prints_report_path(folder, stub_viewer, capsys):
    from remyfold.commands import report as command

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args([str(folder), "--out", str(folder / "r.html")])
    assert command.run(args) == 0
    assert capsys.readouterr().out.strip() == str(folder / "r.html")


def test_cli_reports_bad_folder_in_one_line(tmp_path, capsys):
    from remyfold import cli

    assert cli.main(["report", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("remyfold report: error: prediction folder") and err.count("\n") == 1


def test_chain_parsing_and_boundaries():
    assert parse_chains("A:120,B:80") == [("A", 120), ("B", 80)]
    assert parse_chains("") == []
    with pytest.raises(InputError):
        parse_chains("A120")
    boundaries, centres = chain_boundaries([("A", 30), ("B", 20)])
    np.testing.assert_allclose(boundaries, [30.5])
    np.testing.assert_allclose(centres, [15.5, 40.5])


def test_band_colours_follow_alphafold_thresholds():
    colours = [band_colour(v) for v in (95.0, 90.0, 70.5, 70.0, 50.0, 10.0)]
    assert colours == ["#0053D6", "#65CBF3", "#65CBF3", "#FFDB13", "#FF7D45", "#FF7D45"]


def test_inlined_text_cannot_close_its_script_element():
    hostile = {"data": "REMARK </script><script>alert(1)</script> <!-- & >"}
    text = viewer.json_for_script(hostile)
    assert not re.search(r"</|<!--|[<>&]", text)
    assert json.loads(text) == hostile
    assert viewer.script_safe("a = '</SCRIPT>' + '<!--';") == "a = '<\\/SCRIPT>' + '<\\!--';"


def test_png_figures_have_the_expected_size(folder, stub_viewer):
    from PIL import Image

    build_report(folder)
    image = Image.open(io.BytesIO((folder / "report_files" / "helix_dimer.plddt.png").read_bytes()))
    assert image.size == (1400, 560)  # 7 x 2.8 in at 200 dpi


def test_reads_a_folder_written_by_the_predict_writers(tmp_path, stub_viewer):
    """Contract with `remyfold predict`: its summary, PDB/mmCIF and JSON writers feed the report."""
    from remyfold.io.structure_writer import to_mmcif_string, to_pdb_string
    from remyfold.io.prediction_folder import PredictionFolder, RecordResult, prediction_json
    from remyfold.prediction import Chain, Prediction

    n_res, lengths = 20, [12, 8]
    positions = np.zeros((n_res, 37, 3), dtype=np.float32)
    for slot, (radius, phase, rise) in zip((0, 1, 2, 4), HELIX_ATOMS.values()):  # atom37 N, CA, C, O
        angle = np.radians(100.0 * np.arange(n_res) + phase)
        positions[:, slot] = np.stack(
            [1.5 * np.arange(n_res) + rise, radius * np.cos(angle), radius * np.sin(angle)], 1
        )
    atom_mask = np.zeros((n_res, 37), dtype=bool)
    atom_mask[:, [0, 1, 2, 4]] = True
    pred = Prediction(
        id="P1", chains=[Chain("A", "M" * 12), Chain("B", "K" * 8)], aatype=np.full(n_res, 12),
        positions=positions, atom_mask=atom_mask, plddt=np.linspace(95, 40, n_res)[:, None].repeat(37, 1),
        pae=np.full((n_res, n_res), 5.0), ptm=0.6, chain_index=np.repeat([0, 1], lengths),
        residue_number=np.concatenate([np.arange(1, 13), np.arange(1, 9)]), num_recycles=3, extra={"max_pae": 31.75},
        iptm=0.25, ranking_confidence=0.32, actifptm=0.5, chain_pair_iptm=np.array([[0.9, 0.25], [0.25, 0.8]]),
        chain_pair_pae_min=np.array([[0.5, 7.0], [8.0, 0.6]]),
    )  # fmt: skip
    (tmp_path / "P1.pdb").write_text(to_pdb_string(pred))
    (tmp_path / "P1.cif").write_text(to_mmcif_string(pred))
    (tmp_path / "P1.json").write_text(prediction_json(pred, device="cpu"))
    rows = [RecordResult("P1", 20, "A:12,B:8", "ok", 67.5, 0.6, 1.0, iptm=0.25),
            RecordResult("P2", 5, "A:5", "failed", error="E")]  # fmt: skip
    PredictionFolder(tmp_path).write_summary(rows)
    records = load_folder(tmp_path)
    assert [(r.id, r.done, r.error) for r in records] == [("P1", True, ""), ("P2", False, "E")]
    assert records[0].chains == [("A", 12), ("B", 8)] and records[0].structure.name == "P1.pdb"
    assert (records[0].iptm, records[0].ranking_confidence, records[0].actifptm) == (0.25, 0.32, 0.5)
    assert records[0].chain_pair_pae_min.tolist() == [[0.5, 7.0], [8.0, 0.6]] and records[1].iptm is None
    page = parse_page(build_report(tmp_path))
    assert json.loads(page.scripts[0][1])[0]["data"].count(" CA ") == n_res


def test_report_out_with_a_trailing_slash_is_a_folder(tmp_path, capsys):
    """``report --out adir2/`` writes adir2/report.html (it used to write a file named adir2)."""
    from remyfold.cli import main

    pred = make_prediction_folder(tmp_path / "pred")
    assert main(["report", str(pred), "--out", f"{tmp_path / 'adir2'}/"]) == 0
    assert (tmp_path / "adir2" / "report.html").is_file()
    assert capsys.readouterr().out.strip() == str(tmp_path / "adir2" / "report.html")


def test_complex_scores_and_chain_pair_matrix_are_shown(folder, stub_viewer):
    """ipTM in the summary table; ipTM, ranking confidence, actifpTM and the chain-pair numbers in the dimer's part."""
    path = build_report(folder)
    page, raw = parse_page(path), path.read_text()
    assert "ipTM" in page.text["th"]
    rows = re.findall(r"<tr class=\"[^\"]*\">(.*?)</tr>", raw)
    ipTM_cells = [re.findall(r'<td class="num">([^<]*)</td>', row)[3] for row in rows]
    assert ipTM_cells == ["—", "0.432", "—", "—"]  # monomers and the failed record have none, never 0
    section = raw[raw.index('id="rec-1"') : raw.index('id="rec-2"')]
    assert "ipTM <b>0.432</b>" in section and "actifpTM <b>0.654</b>" in section and "<b>0.488</b>" in section
    assert page.text["td"].count("0.812 / 0.8") == 1 and "0.432 / 11.2" in page.text["td"]
    assert "0.432 / 12.5" in page.text["td"] and "0.779 / 0.8" in page.text["td"]
    monomer = raw[raw.index('id="rec-0"') : raw.index('id="rec-1"')]
    assert "chain-pairs" not in monomer and "ipTM" not in monomer


def test_folder_from_before_complex_scores_still_reports(folder, stub_viewer):
    """A dimer JSON without the complex scores (older runs): the report is written, with no matrix and no ipTM."""
    path = folder / "helix_dimer.json"
    data = json.loads(path.read_text())
    for key in DIMER_SCORES:
        del data[key]
    path.write_text(json.dumps(data))
    records = load_folder(folder)
    assert all(r.iptm is None and r.chain_pair_iptm is None for r in records)
    page = parse_page(build_report(folder))
    assert len(page.images) == 6 and not (folder / "report_files" / "helix_dimer.chain_pairs.png").exists()


def test_chain_pair_matrix_of_the_wrong_shape_is_an_input_error(folder, stub_viewer):
    path = folder / "helix_dimer.json"
    data = json.loads(path.read_text())
    data["chain_pair_iptm"] = [[0.5]]
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="chain_pair_iptm"):
        load_folder(folder)
