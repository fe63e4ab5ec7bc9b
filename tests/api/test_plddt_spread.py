"""Mean pLDDT with spread: a skewed per-residue pLDDT whose mean, median and maximum differ (issue 25).

Every other pLDDT test gives all residues the same Cα value, so a "mean" that became a median or a
maximum would pass them. Here the ten Cα values are skewed (three low, seven high):

    mean 71.8 (the 70–90 band), median 90.5 (the > 90 band), max 98.0, all-atom mean 38.36

and every place that shows a model's mean pLDDT must show exactly 71.8: ``Prediction.mean_plddt``,
the JSON, ``summary.tsv``, the report's table and facts, and the ModelCIF global pLDDT.
"""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from fake_engine import line_prediction, predict_folder
from remyfold.io.residues import ATOM37_NAMES
from remyfold.prediction import Prediction, stored_mean_plddt
from remyfold.report.html import band_colour
from remyfold.report.plots import PLDDT_BANDS

CA = ATOM37_NAMES.index("CA")
SEQUENCE = "MKVLAGWQDE"
CA_PLDDT = (12.0, 20.0, 35.0, 88.0, 90.0, 91.0, 93.0, 95.0, 96.0, 98.0)
OTHER_ATOMS = 30.0
MEAN = 71.8  # sum 718 over 10 residues
MEDIAN = 90.5
MAXIMUM = 98.0
ALL_ATOM_MEAN = (718.0 + 4 * 10 * OTHER_ATOMS) / 50  # 38.36: five atoms per residue, one of them the Cα


def test_the_data_separates_mean_median_and_maximum():
    values = np.array(CA_PLDDT)
    assert (values.mean(), np.median(values), values.max()) == pytest.approx((MEAN, MEDIAN, MAXIMUM))
    assert band_colour(MEAN) == PLDDT_BANDS[1][2] != band_colour(MEDIAN)  # different confidence bands


def spread_prediction(record_id: str = "p", sequence: str = SEQUENCE) -> Prediction:
    """Cα pLDDT from ``CA_PLDDT``, 30 at every other atom; PAE grows with sequence separation."""
    n = len(sequence)
    plddt = np.full((n, 37), OTHER_ATOMS, dtype=np.float32)
    plddt[:, CA] = CA_PLDDT
    pae = np.abs(np.subtract.outer(np.arange(n), np.arange(n))) + 0.5
    return line_prediction(record_id, sequence, plddt, pae)


def test_prediction_mean_plddt_is_the_mean_of_the_ca_values():
    pred = spread_prediction()
    assert pred.mean_plddt == pytest.approx(MEAN, abs=1e-4)
    assert pred.mean_plddt_all_atom == pytest.approx(ALL_ATOM_MEAN, abs=1e-4)


def test_stored_mean_of_an_old_json_is_the_mean_of_its_plddt_list():
    """Files from before ``mean_plddt_all_atom``: the Cα mean is recomputed from ``plddt``."""
    old = {"mean_plddt": ALL_ATOM_MEAN, "plddt": list(CA_PLDDT)}
    assert stored_mean_plddt(old) == pytest.approx(MEAN)


@pytest.fixture
def out_dir(tmp_path):
    """A `remyfold predict` folder (real writers, fake engine) holding one spread prediction."""
    return predict_folder(tmp_path, f">p\n{SEQUENCE}\n", spread_prediction)[1].out_dir


def test_json_and_summary_store_the_exact_mean(out_dir):
    data = json.loads((out_dir / "p.json").read_text())
    assert data["plddt"] == list(CA_PLDDT)
    assert (data["mean_plddt"], data["mean_plddt_all_atom"]) == (MEAN, ALL_ATOM_MEAN)
    with open(out_dir / "summary.tsv", newline="") as handle:
        assert next(csv.DictReader(handle, dialect="excel-tab"))["mean_plddt"] == "71.80"


def test_modelcif_global_plddt_is_the_exact_mean(out_dir):
    gemmi = pytest.importorskip("gemmi")
    block = gemmi.cif.read(str(out_dir / "p.cif")).sole_block()
    table = block.find("_ma_qa_metric_global.", ["metric_id", "metric_value"])
    names = dict(zip(block.find_values("_ma_qa_metric.id"), block.find_values("_ma_qa_metric.name")))
    values = {names[row[0]]: float(row[1]) for row in table}
    assert values["pLDDT"] == MEAN


def test_report_shows_the_exact_mean_in_its_band(out_dir, monkeypatch):
    from remyfold.report import build_report, viewer

    stub = viewer.ViewerLibrary(source="window.$3Dmol = {};", license="stub", version="0")
    monkeypatch.setattr("remyfold.report.build.load_viewer_library", lambda: stub)
    html = build_report(out_dir).read_text()
    cells = re.findall(r'<span class="swatch" style="background:([^"]+)"></span>([\d.]+)</td>', html)
    assert cells == [(PLDDT_BANDS[1][2], "71.8")]
    facts = re.search(r'<p class="facts">(.*?)</p>', html).group(1)
    assert re.findall(r"mean pLDDT[^<]*<b>([\d.]+)</b>", facts) == ["71.8", "38.4"]


def test_report_recomputes_the_mean_of_an_old_json(out_dir, monkeypatch):
    """A JSON from before ``mean_plddt_all_atom``: the report's mean is the mean of ``plddt``."""
    from remyfold.report.folder import load_folder

    path = out_dir / "p.json"
    data = json.loads(path.read_text())
    del data["mean_plddt_all_atom"]
    data["mean_plddt"] = ALL_ATOM_MEAN
    path.write_text(json.dumps(data))
    (record,) = load_folder(out_dir)
    assert record.mean_plddt == pytest.approx(MEAN)
    # A JSON whose mean is missing (null): the report recomputes it from ``plddt``.
    data.update(mean_plddt=None, mean_plddt_all_atom=ALL_ATOM_MEAN)
    path.write_text(json.dumps(data))
    (record,) = load_folder(out_dir)
    assert record.mean_plddt == pytest.approx(MEAN)
