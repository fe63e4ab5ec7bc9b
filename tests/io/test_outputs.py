"""remyfold.io.outputs: a benchmark's --out / --markdown files are checked before its work."""

from __future__ import annotations

import pytest

from remyfold.errors import InputError
from remyfold.io.outputs import check_report_outputs


def test_report_outputs_are_checked_out_first_then_markdown(tmp_path):
    out, md = check_report_outputs(tmp_path / "r.json", None, "r")
    assert out == tmp_path / "r.json" and md is None
    assert check_report_outputs(tmp_path / "r.json", tmp_path / "r.md", "r")[1] == tmp_path / "r.md"
    with pytest.raises(InputError, match=r"--out .* is a folder; .*r\.json"):
        check_report_outputs(tmp_path, tmp_path, "r")  # both bad: --out is named
    with pytest.raises(InputError, match=r"--markdown .* is a folder; .*r\.md"):
        check_report_outputs(tmp_path / "r.json", tmp_path, "r")
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError):
        check_report_outputs(tmp_path / "file" / "r.json", None, "r")  # below a file
