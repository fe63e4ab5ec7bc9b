"""bench/io/mmcif_write.py runs end to end on a short prediction and reports every writer."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "io"


def test_mmcif_write_bench_table(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import mmcif_write

    out = tmp_path / "mmcif-write.md"
    assert mmcif_write.main(["--length", "24", "--repeats", "1", "--out", str(out)]) == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ") and "writer" not in line]
    assert [row.split(" | ")[0] for row in rows] == [
        "| PDB (`to_pdb_string`)", "| ModelCIF (`to_mmcif_string`)",
        "| ModelCIF + PAE, reference (modelcif objects)", "| ModelCIF + PAE (`to_mmcif_string(pae=True)`)",
    ]  # fmt: skip
    assert all(float(row.split(" | ")[1]) > 0 for row in rows)
    sys.modules.pop("mmcif_write", None)
