"""The predicted aligned error as ModelCIF ``_ma_qa_metric_local_pairwise`` rows, written from the array.

:func:`label_seq_ids` (each residue's ``label_seq_id``) lives here and is shared with the writer.

A pairwise metric has one row per ordered residue pair, N² rows. Written through the
``modelcif`` package that is one Python object and one formatted row per pair; here the rows
are formatted straight from the ``[N, N]`` array into the same text, an order of magnitude
faster at 1,000 residues (``bench/io/mmcif_write.py``; results in ``bench/results/mmcif-write.md``).
:func:`remyfold.io.modelcif_writer.build_system` with ``pae=True`` is the reference, and a
test checks that both give the same categories.

The loop lists the residues that have atoms (ModelCIF points pairwise metrics at
``_atom_site``), row-major: residue 1 is the one the model is aligned on, residue 2 the one
whose error is predicted; values are rounded to 2 decimals and written as ``%.3f``, as
python-ihm writes floats.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from remyfold.io.residues import RESTYPE_NAMES

if TYPE_CHECKING:
    from remyfold.prediction import Prediction

#: The columns of ``_ma_qa_metric_local_pairwise``, in the order the ``modelcif`` package writes them.
PAIRWISE_TAGS = (
    "ordinal_id", "model_id", "label_asym_id_1", "label_seq_id_1", "label_comp_id_1",
    "label_asym_id_2", "label_seq_id_2", "label_comp_id_2", "metric_id", "metric_value",
)  # fmt: skip


def add_pae_metric(block, metric) -> int:
    """Define the PAE metric in the ``_ma_qa_metric`` loop of a gemmi block; return its id.

    ``metric`` is an instance of the ``modelcif`` PAE metric class (its name, description,
    type and mode are written); it gets the next free id and the software group of the
    metrics already defined.
    """
    import gemmi

    loop = block.find_loop("_ma_qa_metric.id").get_loop()
    table = block.find_mmcif_category("_ma_qa_metric.")
    metric_id = max(int(row.str(0)) for row in table) + 1 if len(table) else 1
    software_group = table.find_column("software_group_id")[0] if len(table) else "."
    values = {
        "id": str(metric_id), "name": metric.name, "description": metric.description, "type": metric.type,
        "mode": metric.mode, "type_other_details": None, "software_group_id": software_group,
    }  # fmt: skip
    row = []
    for tag in loop.tags:
        value = values[tag.removeprefix("_ma_qa_metric.")]
        row.append("." if value is None else value if tag.endswith("software_group_id") else gemmi.cif.quote(value))
    loop.add_row(row)
    return metric_id


def label_seq_ids(pred: Prediction) -> np.ndarray:
    """``[N]`` 1-based position of each residue within its chain (``label_seq_id``)."""
    label = np.empty(pred.length, dtype=np.int64)
    for chain_index in range(len(pred.chains)):
        rows = np.flatnonzero(pred.chain_index == chain_index)
        label[rows] = np.arange(1, rows.size + 1)
    return label


def pae_loop_text(pred: Prediction, *, metric_id: int, model_id: int) -> str:
    """The ``_ma_qa_metric_local_pairwise`` loop (CIF text ending in ``#``) of ``pred.pae``.

    ``pred.pae`` ``[N, N]`` is cut to the ``[M, M]`` pairs of the M residues that have atoms.
    """
    rows = np.flatnonzero(pred.atom_mask.any(axis=1))
    if rows.size == 0:
        return ""
    label_seq = label_seq_ids(pred)
    # "asym seq comp" of each residue with atoms, e.g. "A 12 LEU".
    residue = [
        f"{pred.chains[int(pred.chain_index[r])].id} {int(label_seq[r])} {RESTYPE_NAMES[int(pred.aatype[r])]}"
        for r in rows
    ]  # fmt: skip
    # [N, N] -> [M, M], rounded as the reference path rounds.
    values = np.round(np.asarray(pred.pae, dtype=np.float64)[np.ix_(rows, rows)], 2)
    parts = ["loop_\n", *(f"_ma_qa_metric_local_pairwise.{tag}\n" for tag in PAIRWISE_TAGS)]
    ordinal = 1
    for first, row_values in zip(residue, values.tolist()):
        parts.append("".join(
            f"{ordinal + j} {model_id} {first} {second} {metric_id} {value:.3f}\n"
            for j, (second, value) in enumerate(zip(residue, row_values))
        ))  # fmt: skip
        ordinal += len(residue)
    parts.append("#\n")
    return "".join(parts)
