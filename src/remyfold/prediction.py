"""The result of folding one record: :class:`Prediction`.

A prediction holds numpy arrays only (no torch), so that writers, metrics,
reports and services can use it without touching the model. Linker residues
used to fold complexes are already removed here.
"""

from __future__ import annotations

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
        num_recycles: recycling iterations used.
        model_name: name of the weights (hub id or directory name).
        weights_revision: hub commit hash or content hash of the weights.
        precision: numeric mode the model ran in (``fp32``, ...).
        seconds: wall time spent folding this record (its share of a batch).
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
    def mean_plddt(self) -> float:
        """Mean pLDDT over all existing atoms (ESMFold's ``mean_plddt``)."""
        return float(self.plddt[self.atom_mask].mean())
