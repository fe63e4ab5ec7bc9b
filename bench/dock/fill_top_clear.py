"""Fill the redocking runs table's ``top_clear`` for rows recorded before that column existed.

``top_clear`` says whether ``remyfold dock`` called the run's top pose clear (``yes``) or warned
that it is uncertain (``no``): another pose scores within
:data:`~remyfold.dock.vina_dock.RIVAL_KCAL` kcal/mol of it and lies more than 2 Å away
(:func:`~remyfold.dock.vina_dock.rival_ranks`). ``redock_bench.py`` records it for every new run.
For an older row this script reads the run kept by ``redock_bench.py --keep DIR``
(``DIR/NAME-MODE-SEED/out/*.dock.json`` and its ``.poses.sdf``):

- the kept run must be the row's run: same search seed and the same top-pose Vina score, else the
  row is left empty and reported;
- the answer is the record's ``top_pose.clear`` where it has one; a record from before that field
  gets ``remyfold dock``'s own rule applied to its poses and scores, as ``run_docking`` applies it.

Rows with no kept run stay empty; rerun them (``redock_bench.py --redo NAME --seeds S --modes M``).
The runs table is rewritten atomically. Run from the repo root:

    .venv/bin/python bench/dock/fill_top_clear.py --kept /work/redock_keep
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import redock_bench as rb  # noqa: E402

from remyfold.dock.vina_dock import Pose, rival_ranks  # noqa: E402


def kept_clear(run: Path, row: dict) -> str | None:
    """``"yes"``/``"no"`` for ``row`` from its kept run folder ``run``; ``None`` when it is not the row's run."""
    from rdkit import Chem

    records = sorted((run / "out").glob("*.dock.json"))
    if len(records) != 1:
        return None
    try:
        record = json.loads(records[0].read_text())
        if (str(record["settings"]["seed"]) != row["seed"]
                or f"{record['poses'][0]['vina_kcal_mol']:.2f}" != row["top_vina"]):  # fmt: skip
            return None
    except (ValueError, KeyError, IndexError, TypeError):  # not a record of dock: not this row's run
        return None
    if "top_pose" in record:
        return "yes" if record["top_pose"]["clear"] else "no"
    sdf = records[0].with_name(records[0].name.replace(".dock.json", ".poses.sdf"))
    mols = list(Chem.SDMolSupplier(str(sdf), removeHs=False))
    if len(mols) != len(record["poses"]) or None in mols:
        return None
    poses = [Pose(info["rank"], info["vina_kcal_mol"], mol) for info, mol in zip(record["poses"], mols)]
    return "no" if rival_ranks(poses) else "yes"


def fill(rows: list[dict], kept: Path) -> tuple[int, list[str]]:
    """Set ``top_clear`` in the ``rows`` lacking it (in place); the count filled and the runs left empty."""
    filled, left = 0, []
    for row in rows:
        if row["top_clear"] or row["error"]:
            continue
        run = kept / f"{row['name']}-{row['mode']}-{row['seed']}"
        value = kept_clear(run, row) if run.is_dir() else None
        if value is None:
            left.append(run.name)
        else:
            row["top_clear"], filled = value, filled + 1
    return filled, left


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kept", type=Path, required=True, help="folder of redock_bench.py --keep")
    args = parser.parse_args()
    if not args.kept.is_dir():
        parser.error(f"--kept {args.kept}: not a folder of kept runs (redock_bench.py --keep DIR)")
    if not rb.RUNS.is_file():
        parser.error(f"no runs table {rb.RUNS} here: run from the repo root")
    rb.upgrade_header(rb.RUNS, rb.COLUMNS)
    rows = rb.read_rows()
    filled, left = fill(rows, args.kept)
    rb.write_rows(rb.RUNS, rb.COLUMNS, rows)
    print(f"filled {filled} row(s); no kept run for {len(left)}: {' '.join(left) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
