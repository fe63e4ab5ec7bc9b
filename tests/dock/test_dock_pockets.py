"""Pocket ranking by druggability and docking into the top N pockets (issue 19, item 3).

Real structures: 1OF6 from posebusters' bundled examples (its ligand's pocket is
ranked third by volume, first by the druggability score) and 1A28 chain A from
MDAnalysisTests.
"""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from remyfold.cli import main

pytest.importorskip("vina")
pytest.importorskip("meeko")
pytest.importorskip("pyKVFinder")

from remyfold.dock.errors import DockError  # noqa: E402
from remyfold.dock.pockets import find_pockets, site_score  # noqa: E402
from remyfold.dock.receptor import load_receptor  # noqa: E402


def test_site_score_terms():
    """Size (capped), enclosure and hydrophilicity move the score as SiteScore's weights say."""
    assert site_score(100.0, 1.0, -1.0) == pytest.approx(0.0733 * 10 + 0.6688)
    assert site_score(400.0, 0.5, 0.0) == site_score(100.0, 0.5, 0.0)  # size capped at 100 Å³
    assert site_score(50.0, 0.5, 0.0) < site_score(100.0, 0.5, 0.0)
    assert site_score(100.0, 0.9, 0.0) > site_score(100.0, 0.5, 0.0)
    assert site_score(100.0, 0.5, 0.8) == pytest.approx(site_score(100.0, 0.5, 0.0) - 0.16)
    assert site_score(100.0, 0.5, 3.0) == site_score(100.0, 0.5, 1.0)  # hydrophilicity capped at 1


def test_druggability_puts_the_ligand_pocket_first_where_volume_does_not():
    """1OF6 (posebusters): two larger open clefts outrank the enclosed ligand site by volume only."""
    pytest.importorskip("posebusters")
    from rdkit import Chem

    folder = Path(next(iter(find_spec("posebusters").submodule_search_locations))) / "datasets" / "pdb" / "1of6"
    ligand = Chem.MolFromMolFile(str(folder / "1of6_ligand.sdf"))
    centre = ligand.GetConformer().GetPositions().mean(axis=0)
    receptor = load_receptor(folder / "1of6_protein_one_lig_removed.pdb", chains=("A", "B"))
    ranked = find_pockets(receptor)
    by_volume = find_pockets(receptor, ranking="volume")
    assert np.linalg.norm(np.asarray(ranked[0].centre) - centre) <= 4.0
    assert np.linalg.norm(np.asarray(by_volume[0].centre) - centre) > 4.0
    assert [p.rank for p in ranked] == list(range(1, len(ranked) + 1))
    assert all(a.score >= b.score for a, b in zip(ranked, ranked[1:]))
    assert 0.0 <= ranked[0].enclosure <= 1.0 and ranked[0].volume > 100


def test_pockets_output_shows_the_score_terms(pr_lbd, capsys):
    assert main(["pockets", str(pr_lbd), "--json", "--top", "2"]) == 0
    top = json.loads(capsys.readouterr().out)["pockets"][0]
    assert {"score", "volume_A3", "enclosure", "hydropathy", "depth_mean_A", "depth_max_A"} <= set(top)
    assert top["score"] == pytest.approx(site_score(top["volume_A3"], top["enclosure"], top["hydropathy"]), abs=2e-3)
    assert main(["pockets", str(pr_lbd), "--top", "1"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split()
    assert {"score", "enclosure", "hydropathy"} <= set(header)


def test_unknown_ranking_is_refused(pr_lbd):
    with pytest.raises(ValueError, match="choose one of druggability, volume"):
        find_pockets(load_receptor(pr_lbd), ranking="size")


def test_dock_into_the_top_two_pockets_ranks_poses_across_them(pr_lbd, tmp_path):
    """--pockets 2: both pockets docked, poses pooled by score, each pose names its pocket everywhere."""
    from rdkit import Chem

    out = tmp_path / "out"
    assert main(["dock", str(pr_lbd), "--ligand", "ethanol=CCO", "--out", str(out), "--pockets", "2",
                 "--exhaustiveness", "1", "--searches", "1", "--poses", "6"]) == 0
    record = json.loads((out / "1a28_A__ethanol.dock.json").read_text())
    assert [p["rank"] for p in record["pockets_docked"]] == [1, 2]
    assert record["request"]["site"] == {"pocket": "auto", "pockets": 2, "ranking": "druggability"}
    poses = record["poses"]
    assert [p["rank"] for p in poses] == list(range(1, len(poses) + 1))
    assert [p["vina_kcal_mol"] for p in poses] == sorted(p["vina_kcal_mol"] for p in poses)
    assert {p["pocket"] for p in poses} <= {"1", "2"} and record["pocket"] == poses[0]["pocket"]
    best = {str(p["rank"]): p["best_vina_kcal_mol"] for p in record["pockets_docked"]}
    assert poses[0]["vina_kcal_mol"] == min(best.values())
    for pocket, score in best.items():  # each pocket's best pose is among the pooled poses unless a better one is
        assert any(p["pocket"] == pocket for p in poses) or score > poses[-1]["vina_kcal_mol"]
    sdf = list(Chem.SDMolSupplier(str(out / "1a28_A__ethanol.poses.sdf")))
    assert [m.GetProp("pocket") for m in sdf] == [p["pocket"] for p in poses]
    summary = [line.split("\t") for line in (out / "dock_summary.tsv").read_text().splitlines()[1:]]
    assert [row[2] for row in summary] == [p["pocket"] for p in poses]


def test_one_pocket_docks_the_top_pocket_only(pr_lbd, tmp_path):
    out = tmp_path / "one"
    assert main(["dock", str(pr_lbd), "--ligand", "ethanol=CCO", "--out", str(out), "--pockets", "1",
                 "--exhaustiveness", "1", "--searches", "1", "--poses", "3"]) == 0
    record = json.loads((out / "1a28_A__ethanol.dock.json").read_text())
    assert [p["rank"] for p in record["pockets_docked"]] == [1]
    assert {p["pocket"] for p in record["poses"]} == {"1"} and record["pocket"] == "1"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--pockets", "0"], "--pockets 0: give how many top-ranked pockets to dock"),
        (["--pockets", "-2"], "--pockets -2: give how many top-ranked pockets to dock"),
        (["--pockets", "2", "--pocket", "1"], "--pockets 2: only with the pocket found automatically"),
        (["--pockets", "2", "--box", "23,10,60,20,20,20"], "--pockets 2: only with the pocket found automatically"),
    ],
)
def test_bad_pockets_is_one_line_exit_2(pr_lbd, tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    assert main(["dock", str(pr_lbd), "--ligand", "metformin", "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not out.exists()


def test_dock_job_refuses_a_bad_pocket_count():
    from remyfold.dock.runner import DockJob

    for bad in (0, -1, 1.5, True):
        with pytest.raises(DockError, match="give how many top-ranked pockets"):
            DockJob((), (), Path("out"), pockets=bad)
