"""bench/dock/fill_top_clear.py: an old row gets its kept run's answer only when the kept run is that row's run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

Chem = pytest.importorskip("rdkit.Chem")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "dock"))
import fill_top_clear as ftc  # noqa: E402


def _keep(folder: Path, seed: int, scores: list[float], shifts: list[float], top_pose: dict | None = None) -> None:
    """A kept run: record and poses of one molecule shifted along x by ``shifts`` Å."""
    from rdkit.Chem import AllChem

    out = folder / "out"
    out.mkdir(parents=True)
    mol = Chem.AddHs(Chem.MolFromSmiles("CCOc1ccccc1"))
    AllChem.EmbedMolecule(mol, randomSeed=1)
    writer = Chem.SDWriter(str(out / "X__ligand.poses.sdf"))
    for shift in shifts:
        pose = Chem.Mol(mol)
        conf = pose.GetConformer()
        for i in range(pose.GetNumAtoms()):
            p = conf.GetAtomPosition(i)
            conf.SetAtomPosition(i, (p.x + shift, p.y, p.z))
        writer.write(pose)
    writer.close()
    record = {"settings": {"seed": seed}, "poses": [{"rank": k + 1, "vina_kcal_mol": s} for k, s in enumerate(scores)]}
    if top_pose is not None:
        record["top_pose"] = top_pose
    (out / "X__ligand.dock.json").write_text(json.dumps(record))


def test_old_rows_are_filled_from_the_record_or_by_docks_own_rule_and_a_foreign_run_is_left_empty(tmp_path):
    _keep(tmp_path / "A-site-42", 42, [-8.0, -7.9], [0.0, 5.0], {"clear": True})  # the record says clear
    _keep(tmp_path / "B-site-42", 42, [-8.0, -7.9], [0.0, 5.0])  # no field: a rival 5 Å away within 0.1 kcal/mol
    _keep(tmp_path / "C-site-42", 42, [-8.0, -6.0], [0.0, 5.0])  # no field: the other pose is 2 kcal/mol worse
    _keep(tmp_path / "D-site-42", 142, [-8.0], [0.0], {"clear": False})  # another seed's run: not this row's
    rows = [{"name": n, "mode": "site", "seed": "42", "top_vina": "-8.00", "top_clear": "", "error": ""}
            for n in "ABCDE"]
    rows.append({"name": "F", "mode": "site", "seed": "42", "top_vina": "-8.00", "top_clear": "no", "error": ""})
    filled, left = ftc.fill(rows, tmp_path)
    assert [r["top_clear"] for r in rows] == ["yes", "no", "yes", "", "", "no"]
    assert filled == 3 and left == ["D-site-42", "E-site-42"]


def test_a_kept_record_that_is_not_json_leaves_the_row_empty(tmp_path):
    (tmp_path / "A-site-42" / "out").mkdir(parents=True)
    (tmp_path / "A-site-42" / "out" / "X__ligand.dock.json").write_text("{not json")
    rows = [{"name": "A", "mode": "site", "seed": "42", "top_vina": "-8.00", "top_clear": "", "error": ""}]
    assert ftc.fill(rows, tmp_path) == (0, ["A-site-42"]) and rows[0]["top_clear"] == ""
