"""The one error formatter: ``Type: first line of the message``."""

from __future__ import annotations

import pytest

from remyfold.errors import first_line, one_line


@pytest.mark.parametrize(
    "err, expected_one, expected_first",
    [
        (ValueError("bad value\nmore detail"), "ValueError: bad value", "bad value"),
        (OSError(""), "OSError", "OSError"),
        (RuntimeError("\n\n  spaced  \nnext"), "RuntimeError: spaced", "spaced"),
        (KeyError("X"), "KeyError: 'X'", "'X'"),
    ],
)
def test_one_line_and_first_line(err, expected_one, expected_first):
    assert one_line(err) == expected_one
    assert first_line(err) == expected_first


def test_ligand_error_with_empty_message(monkeypatch):
    """The old copy in dock/ligand.py raised IndexError on an empty message."""
    meeko = pytest.importorskip("meeko")
    from remyfold.dock.errors import DockError
    from remyfold.dock.ligand import ligand_pdbqt

    class Failing:
        def __init__(self, **settings):  # the rigid-bond settings ligand_pdbqt passes
            pass

        def prepare(self, mol):
            raise RuntimeError("")

    monkeypatch.setattr(meeko, "MoleculePreparation", Failing)
    with pytest.raises(DockError, match=r"could not prepare ligand x: RuntimeError$"):
        ligand_pdbqt(object(), "x")
