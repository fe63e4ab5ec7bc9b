"""PredictionFolder: what the pipeline writes, the report and the server read back (round trips)."""

from __future__ import annotations

import numpy as np
import pytest

from remyfold.errors import InputError
from remyfold.io.prediction_folder import SUMMARY_COLUMNS, PredictionFolder, RecordResult
from remyfold.prediction import Chain, Prediction


def prediction(record_id: str = "P1", chains=("MKTAYIAK", "GSHM")) -> Prediction:
    """A small two-chain prediction with a backbone along x (N, CA, C present)."""
    n = sum(len(c) for c in chains)
    positions = np.zeros((n, 37, 3), dtype=np.float32)
    positions[:, :3, 0] = np.arange(n)[:, None] * 3.8 + np.array([0.0, 1.4, 2.5])
    mask = np.zeros((n, 37), dtype=bool)
    mask[:, :3] = True
    return Prediction(
        id=record_id, chains=[Chain("AB"[i], s) for i, s in enumerate(chains)], aatype=np.zeros(n, dtype=int),
        positions=positions, atom_mask=mask, plddt=np.linspace(90, 50, n)[:, None].repeat(37, 1),
        pae=np.arange(n * n, dtype=np.float32).reshape(n, n) / 10, ptm=0.5,
        chain_index=np.repeat([0, 1], [len(c) for c in chains]),
        residue_number=np.concatenate([np.arange(1, len(c) + 1) for c in chains]), num_recycles=3,
        model_name="tiny", precision="fp32", seconds=1.25, extra={"max_pae": 31.75},
    )  # fmt: skip


ROWS = [
    RecordResult("P1", 12, "A:8,B:4", "ok", mean_plddt=70.25, ptm=0.5, seconds=1.25),
    RecordResult("P2", 5, "A:5", "failed", error="ValueError: cannot fold this one"),
    RecordResult("P3", 9, "A:9", "pending"),
]


def test_write_then_read_round_trip(tmp_path):
    folder = PredictionFolder(tmp_path)
    pred = prediction()
    folder.write_record(pred, device="cpu", threads=2)
    folder.write_summary(ROWS)
    assert folder.results() == ROWS
    assert folder.summary_path.read_text().splitlines()[0].split("\t") == list(SUMMARY_COLUMNS)
    assert [row["id"] for row in folder.summary_rows()] == ["P1", "P2", "P3"]
    data = folder.read_json("P1")
    assert data["sequence"] == "MKTAYIAK:GSHM" and data["device"] == "cpu" and data["threads"] == 2
    assert np.allclose(data["pae"], np.round(pred.pae, 2)) and len(data["plddt"]) == 12
    assert folder.finished("P1", "MKTAYIAK:GSHM") == data
    assert folder.finished("P1", "MKTAYIAK:GSHA") is None  # another sequence under the same id
    assert folder.finished("P2", "MKV") is None
    assert folder.structure_file("P1") == tmp_path / "P1.pdb"
    assert not list(tmp_path.glob("*.tmp*"))  # atomic writes leave nothing behind
    assert data["chunk_size"] is None  # unchunked


def test_the_chunk_size_the_engine_chose_is_in_the_json(tmp_path):
    pred = prediction()
    pred.extra["chunk_size"] = 81
    PredictionFolder(tmp_path).write_record(pred, device="cuda:0")
    assert PredictionFolder(tmp_path).read_json("P1")["chunk_size"] == 81


def test_a_record_without_its_pdb_is_not_finished_but_its_cif_is_read(tmp_path):
    folder = PredictionFolder(tmp_path)
    folder.write_record(prediction(), device="cpu")
    (tmp_path / "P1.pdb").unlink()
    assert folder.finished("P1", "MKTAYIAK:GSHM") is None
    assert folder.structure_file("P1") == tmp_path / "P1.cif"
    (tmp_path / "P1.json").write_text("{not json")
    with pytest.raises(InputError, match="P1.json"):
        folder.read_json("P1")


def test_report_and_server_read_through_the_folder(tmp_path):
    pytest.importorskip("jinja2")
    from remyfold.report.folder import load_folder
    from remyfold.serve.results import COMPLEX_KEYS, record_rows

    folder = PredictionFolder(tmp_path)
    folder.write_record(prediction(), device="cpu")
    folder.write_summary(ROWS)
    records = load_folder(tmp_path)
    assert [(r.id, r.status, r.done) for r in records] == [("P1", "ok", True), ("P2", "failed", False),
                                                           ("P3", "pending", False)]  # fmt: skip
    assert records[0].chains == [("A", 8), ("B", 4)] and records[0].structure.name == "P1.pdb"
    rows = record_rows(tmp_path)
    assert rows[0] == {"id": "P1", "status": "ok", "length": 12, "chains": "A:8,B:4", "mean_plddt": 70.25,
                       "ptm": 0.5, "seconds": 1.25, "error": "", **dict.fromkeys(COMPLEX_KEYS)}  # fmt: skip
    assert rows[1]["error"] == "ValueError: cannot fold this one" and rows[2]["mean_plddt"] is None


@pytest.mark.parametrize("text", ["", "id\tlength\n", "\x00\xff binary"])
def test_a_bad_summary_is_one_line(tmp_path, text):
    (tmp_path / "summary.tsv").write_bytes(text.encode("latin-1"))
    with pytest.raises(InputError) as err:
        PredictionFolder(tmp_path).summary_rows()
    assert "\n" not in str(err.value)


def test_no_summary(tmp_path):
    with pytest.raises(InputError, match="no summary.tsv in"):
        PredictionFolder(tmp_path).results()


def test_summary_cells_never_hold_tabs_or_newlines(tmp_path):
    folder = PredictionFolder(tmp_path)
    folder.write_summary([RecordResult("P9", 3, "A:3", "failed", error="Boom:\tfirst\nsecond")])
    [row] = folder.results()
    assert row.error == "Boom: first second"
