"""One meaning of "mean pLDDT" everywhere (issue 7 §2).

``mean_plddt`` is the mean of the per-residue Cα pLDDT (AlphaFold DB / ColabFold); ESMFold's
mean over all atoms is ``mean_plddt_all_atom``. The prediction here has Cα values of 85 and
every other atom at 30, so the two means are far apart (85 against 41) and lie in different
confidence bands: any place that swaps them back fails.
"""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from fake_engine import FakeLoader, line_prediction, predict_folder
from remyfold.io.residues import ATOM37_NAMES
from remyfold.pipeline import run_predict
from remyfold.prediction import Prediction, stored_mean_plddt
from remyfold.report.plots import PLDDT_BANDS

CA = ATOM37_NAMES.index("CA")
SEQUENCE = "MKVLAGWQDE"
CA_MEAN = 85.0
CONFIDENT = PLDDT_BANDS[1][2]  # colour of the 70–90 band


def split_prediction(record_id: str = "p", sequence: str = SEQUENCE) -> Prediction:
    """Backbone + CB atoms on a line; pLDDT 85 at each Cα, 30 at every other atom."""
    n = len(sequence)
    plddt = np.full((n, 37), 30.0, dtype=np.float32)
    plddt[:, CA] = CA_MEAN
    return line_prediction(record_id, sequence, plddt, np.full((n, n), 2.0))


ALL_ATOM_MEAN = (CA_MEAN + 4 * 30.0) / 5  # 41: five atoms per residue, one of them the Cα


def test_prediction_means():
    pred = split_prediction()
    assert pred.mean_plddt == pytest.approx(CA_MEAN) == pytest.approx(pred.residue_plddt.mean())
    assert pred.mean_plddt_all_atom == pytest.approx(ALL_ATOM_MEAN)


@pytest.fixture
def predicted(tmp_path):
    """A `remyfold predict` folder (real writers, fake engine) holding one split prediction."""
    fasta, opts, _ = predict_folder(tmp_path, f">p\n{SEQUENCE}\n", split_prediction)
    return fasta, opts


def summary_mean(out_dir) -> str:
    with open(out_dir / "summary.tsv", newline="") as handle:
        return next(csv.DictReader(handle, dialect="excel-tab"))["mean_plddt"]


def test_json_and_summary_store_the_ca_mean(predicted):
    fasta, opts = predicted
    data = json.loads((opts.out_dir / "p.json").read_text())
    assert data["mean_plddt"] == CA_MEAN == pytest.approx(np.mean(data["plddt"]))
    assert data["mean_plddt_all_atom"] == pytest.approx(ALL_ATOM_MEAN)
    assert summary_mean(opts.out_dir) == f"{CA_MEAN:.2f}"
    # A rerun skips the record and keeps the same meaning.
    assert [r.status for r in run_predict([fasta], opts, loader=FakeLoader(split_prediction))] == ["skipped"]
    assert summary_mean(opts.out_dir) == f"{CA_MEAN:.2f}"


def test_json_from_before_the_split_is_read_as_the_ca_mean():
    """Older files stored the all-atom mean as ``mean_plddt`` and had no ``mean_plddt_all_atom``."""
    old = {"mean_plddt": ALL_ATOM_MEAN, "plddt": [CA_MEAN - 1, CA_MEAN + 1]}
    assert stored_mean_plddt(old) == pytest.approx(CA_MEAN)
    assert stored_mean_plddt({"mean_plddt": 70.0, "mean_plddt_all_atom": 60.0, "plddt": [1.0]}) == 70.0
    assert stored_mean_plddt({}) is None


def test_report_shows_the_ca_mean_with_its_band(predicted, monkeypatch):
    from remyfold.report import build_report, viewer

    _, opts = predicted
    stub = viewer.ViewerLibrary(source="window.$3Dmol = {};", license="stub", version="0")
    monkeypatch.setattr("remyfold.report.build.load_viewer_library", lambda: stub)
    html = build_report(opts.out_dir).read_text()
    cells = re.findall(r'<span class="swatch" style="background:([^"]+)"></span>([\d.]+)</td>', html)
    assert cells == [(CONFIDENT, f"{CA_MEAN:.1f}")]  # the table's mean is the Cα mean, in its own band
    facts = re.search(r'<p class="facts">(.*?)</p>', html).group(1)
    assert [f"{CA_MEAN:.1f}", f"{ALL_ATOM_MEAN:.1f}"] == re.findall(r"mean pLDDT[^<]*<b>([\d.]+)</b>", facts)
