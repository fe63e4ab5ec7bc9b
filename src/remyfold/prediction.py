"""The result of folding one record: :class:`Prediction`.

A prediction holds numpy arrays only (no torch), so that writers, metrics,
reports and services can use it without touching the model. Linker residues
used to fold complexes are already removed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

CHAIN_IDS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class Chain:
    """One chain of a record: its id (A, B, ...) and its one-letter sequence."""

    id: str
    sequence: str


@dataclass
class Prediction:
    """A predicted structure with confidence, for one FASTA record.

    Shapes use ``N`` for the number of residues of all chains together
    (linkers removed) and the atom37 layout of AlphaFold/ESMFold.

    Attributes:
        id: record id (first word of the FASTA header).
        chains: the chains, in order; residues of chain ``k`` come after those of chain ``k-1``.
        aatype: ``[N]`` int, residue type index in the 20-letter order ``ARNDCQEGHILKMFPSTWYV``
            (20 = unknown ``X``).
        positions: ``[N, 37, 3]`` float32, atom37 coordinates in Å.
        atom_mask: ``[N, 37]`` bool, which atom37 slots exist for each residue.
        plddt: ``[N, 37]`` float32, pLDDT of each atom on the 0–100 scale.
        pae: ``[N, N]`` float32, predicted aligned error in Å.
        ptm: predicted TM-score (0–1).
        chain_index: ``[N]`` int, index into ``chains`` of each residue.
        residue_number: ``[N]`` int, residue number within its chain, from 1.
        num_recycles: recycles run: the trunk ran ``num_recycles + 1`` passes (see :attr:`trunk_passes`).
        model_name: name of the weights (hub id or directory name).
        weights_revision: hub commit hash or content hash of the weights.
        precision: numeric mode the model ran in (``fp32``, ...).
        seconds: wall time spent folding this record (its share of a batch).
        iptm: interface pTM (AlphaFold-Multimer) over residue pairs on different chains, 0–1;
            ``None`` for a single chain (so are the other complex scores below).
        ranking_confidence: AlphaFold-Multimer's ``0.8·ipTM + 0.2·pTM``.
        actifptm: ipTM weighted by predicted contact probabilities (Varga et al. 2025, ColabFold).
        chain_pair_iptm: ``[C, C]`` float32, ipTM of each chain pair; the diagonal is each chain's pTM
            (AlphaFold 3 convention).
        chain_pair_pae_min: ``[C, C]`` float32, lowest PAE (Å) with rows on chain ``a`` and columns on
            chain ``b`` (AlphaFold 3 convention; not symmetric).
    """

    id: str
    chains: list[Chain]
    aatype: np.ndarray
    positions: np.ndarray
    atom_mask: np.ndarray
    plddt: np.ndarray
    pae: np.ndarray
    ptm: float
    chain_index: np.ndarray
    residue_number: np.ndarray
    num_recycles: int
    model_name: str = ""
    weights_revision: str = ""
    precision: str = "fp32"
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)
    iptm: float | None = None
    ranking_confidence: float | None = None
    actifptm: float | None = None
    chain_pair_iptm: np.ndarray | None = None
    chain_pair_pae_min: np.ndarray | None = None

    @property
    def sequence(self) -> str:
        """All chains' sequences joined by ``:`` (the input convention)."""
        return ":".join(chain.sequence for chain in self.chains)

    @property
    def length(self) -> int:
        """Number of residues over all chains (linkers excluded)."""
        return int(self.aatype.shape[0])

    @property
    def residue_plddt(self) -> np.ndarray:
        """``[N]`` pLDDT per residue: the value at the Cα atom (atom37 slot 1)."""
        return self.plddt[:, 1]

    @property
    def trunk_passes(self) -> int:
        """Passes of the folding trunk: the first one plus one per recycle."""
        return int(self.num_recycles) + 1

    @property
    def mean_plddt(self) -> float:
        """Mean over residues of the Cα pLDDT (:attr:`residue_plddt`), 0–100.

        The AlphaFold DB / ColabFold / ModelCIF meaning of a model's mean pLDDT: the mean of
        the per-residue values that are plotted and stored as local pLDDT.
        """
        return float(self.residue_plddt.mean())

    @property
    def mean_plddt_all_atom(self) -> float:
        """Mean pLDDT over all existing atoms, 0–100: what ESMFold (``esm-fold``) logs as ``mean_plddt``."""
        return float(self.plddt[self.atom_mask].mean())


def stored_mean_plddt(data: Mapping) -> float | None:
    """The Cα mean pLDDT of a prediction JSON object (``<id>.json``), or ``None`` when it has none.

    JSON files written before ``mean_plddt_all_atom`` existed stored the all-atom mean under
    ``mean_plddt``; for those the Cα mean is recomputed from the per-residue ``plddt`` list.
    """
    if "mean_plddt_all_atom" in data:
        value = data.get("mean_plddt")
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    try:
        values = np.asarray(data.get("plddt"), dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return float(values.mean()) if values.ndim == 1 and values.size else None
