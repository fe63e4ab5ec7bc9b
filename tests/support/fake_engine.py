"""A fake folding engine for pipeline tests: real writers, predictions built by a test function.

``line_prediction`` builds a :class:`~remyfold.prediction.Prediction` with backbone + CB atoms on a
line and the pLDDT/PAE the test chooses; ``predict_folder`` runs ``run_predict`` with a loader whose
folder returns ``make(record_id, sequence)`` for each record.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from remyfold.io.residues import RESTYPES_WITH_X
from remyfold.pipeline import PredictOptions, run_predict
from remyfold.prediction import Chain, Prediction


def line_prediction(record_id: str, sequence: str, plddt: np.ndarray, pae: np.ndarray, *, ptm: float = 0.6) -> Prediction:
    """One chain, atoms N CA C CB O of residue ``i`` at x = 3.8 i + 0.3 slot; ``plddt`` ``[N, 37]``, ``pae`` ``[N, N]``."""
    n = len(sequence)
    mask = np.zeros((n, 37), dtype=bool)
    mask[:, [0, 1, 2, 3, 4]] = True  # N CA C CB O
    positions = np.zeros((n, 37, 3), dtype=np.float32)
    positions[:, :, 0] = np.arange(n)[:, None] * 3.8 + np.arange(37)[None] * 0.3
    return Prediction(
        id=record_id, chains=[Chain("A", sequence)], aatype=np.array([RESTYPES_WITH_X.index(a) for a in sequence]),
        positions=positions, atom_mask=mask, plddt=np.asarray(plddt, np.float32), pae=np.asarray(pae, np.float32),
        ptm=ptm, chain_index=np.zeros(n, int), residue_number=np.arange(1, n + 1), num_recycles=3, seconds=1.25,
        extra={"max_pae": 31.75},
    )  # fmt: skip


class FakeFolder:
    device = "cpu"

    def __init__(self, make: Callable[[str, str], Prediction]):
        self.make = make

    def fold_batch(self, records, *, num_recycles=None, progress=None):
        return [self.make(rid, seq) for rid, seq in records]


class FakeLoader:
    precisions = ("fp32",)

    def __init__(self, make: Callable[[str, str], Prediction]):
        self.make = make

    def __call__(self, weights, options):
        return FakeFolder(self.make)


def predict_folder(tmp_path: Path, fasta_text: str, make: Callable[[str, str], Prediction]):
    """Run ``run_predict`` on ``fasta_text`` with the fake engine; returns ``(fasta, options, loader)``."""
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "config.json").write_text("{}")
    (weights / "model.safetensors").write_bytes(b"\0")
    fasta = tmp_path / "in.fa"
    fasta.write_text(fasta_text)
    opts = PredictOptions(out_dir=tmp_path / "out", weights=weights, progress=False)
    loader = FakeLoader(make)
    run_predict([fasta], opts, loader=loader)
    return fasta, opts, loader
