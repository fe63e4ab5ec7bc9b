"""Residue correspondence between a model and a reference, by chain pairing and sequence alignment.

Chains are paired (see :func:`pair_chains`), then the two sequences of each pair
are aligned with biotite's optimal (Needleman–Wunsch/Gotoh) alignment: BLOSUM62,
affine gaps (open -10, extend -1), and free terminal gaps, so that different
residue numbering, missing loops and extra tags at either end do not matter.
Aligned positions whose two residues both exist make the residue pairs.

A pair of chains "does not align" when fewer than :data:`MIN_ALIGNED` residues
pair up or the identity of the aligned residues is below :data:`MIN_IDENTITY`:
then the chains are not the same protein and scores would be meaningless.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from remyfold.errors import InputError
from remyfold.io.structure_reader import ChainRecord

MIN_ALIGNED = 3
MIN_IDENTITY = 0.3
GAP_PENALTY = (-10, -1)
# Letters of biotite's BLOSUM62 alphabet; anything else is aligned as X.
ALIGNABLE = frozenset("ACDEFGHIKLMNPQRSTVWYBZX")


@dataclass(frozen=True)
class ChainAlignment:
    """Residue pairs of one model chain and one reference chain.

    Attributes:
        model: the model chain.
        reference: the reference chain.
        model_residues: ``[K]`` int, residue indices into ``model`` of the aligned pairs.
        reference_residues: ``[K]`` int, the matching residue indices into ``reference`` (increasing).
        identical: number of pairs with the same one-letter code.
    """

    model: ChainRecord
    reference: ChainRecord
    model_residues: np.ndarray
    reference_residues: np.ndarray
    identical: int

    @property
    def aligned(self) -> int:
        """Number of aligned residue pairs ``K``."""
        return len(self.model_residues)


def align_chains(model: ChainRecord, reference: ChainRecord) -> ChainAlignment:
    """Align two chains' sequences (BLOSUM62, affine gaps, free end gaps) into residue pairs.

    Raises:
        InputError: the chains do not align (see the module docstring).
    """
    from biotite.sequence import ProteinSequence
    from biotite.sequence.align import SubstitutionMatrix, align_optimal

    def as_sequence(chain: ChainRecord) -> ProteinSequence:
        return ProteinSequence("".join(c if c in ALIGNABLE else "X" for c in chain.sequence))

    alignment = align_optimal(
        as_sequence(model),
        as_sequence(reference),
        SubstitutionMatrix.std_protein_matrix(),
        gap_penalty=GAP_PENALTY,
        terminal_penalty=False,
        max_number=1,
    )[0]
    trace = alignment.trace  # [columns, 2]: residue index in each sequence, -1 for a gap
    both = np.all(trace >= 0, axis=1)
    model_residues, reference_residues = trace[both, 0], trace[both, 1]
    model_letters = np.array(list(model.sequence))[model_residues]
    reference_letters = np.array(list(reference.sequence))[reference_residues]
    identical = int(np.sum(model_letters == reference_letters))
    result = ChainAlignment(model, reference, model_residues, reference_residues, identical)
    identity = identical / result.aligned if result.aligned else 0.0
    if result.aligned < MIN_ALIGNED or identity < MIN_IDENTITY:
        raise InputError(
            f"model chain {_name(model)} and reference chain {_name(reference)} do not align "
            f"({result.aligned} aligned residues, {identity:.0%} identical); they must be the same protein: "
            "pick the matching chains with --chain or --chain-map"
        )
    return result


def parse_chain_list(chains: str | Sequence[str] | None) -> list[str] | None:
    """``"A,B"`` or ``["A", "B"]`` -> ``["A", "B"]``; ``None`` stays ``None``."""
    if chains is None:
        return None
    items = chains.split(",") if isinstance(chains, str) else list(chains)
    items = [item.strip() for item in items]
    if not items or any(not item for item in items):
        raise InputError(f"--chain {chains!r} is not a comma-separated list of chain ids; write e.g. --chain A,B")
    return items


def parse_chain_map(chain_map: str | Mapping[str, str] | None) -> dict[str, str] | None:
    """``"A:B,C:D"`` (model:reference) or a mapping -> ``{"A": "B", "C": "D"}``."""
    if chain_map is None:
        return None
    if isinstance(chain_map, Mapping):
        return dict(chain_map)
    result = {}
    for item in chain_map.split(","):
        model, sep, reference = item.strip().partition(":")
        if not sep or not model or not reference or model in result:
            raise InputError(
                f"--chain-map {chain_map!r}: {item!r} is not MODEL:REFERENCE (or repeats a model chain); "
                "write e.g. --chain-map A:B,B:C"
            )
        result[model] = reference
    return result


def pair_chains(
    model_chains: list[ChainRecord],
    reference_chains: list[ChainRecord],
    chains: str | Sequence[str] | None = None,
    chain_map: str | Mapping[str, str] | None = None,
) -> list[tuple[ChainRecord, ChainRecord]]:
    """Pair model and reference chains, in reference order.

    * ``chain_map`` (model id -> reference id): exactly these pairs;
    * else ``chains`` (reference ids): those reference chains, each with the model
      chain of the same id, or with the model's only chain if it has one and a
      single reference chain is asked for;
    * else: the only chain of each when both have one, otherwise every reference
      chain whose id the model also has.

    Raises:
        InputError: both options given, an unknown chain id, or no pair found.
    """
    chain_list, mapping = parse_chain_list(chains), parse_chain_map(chain_map)
    if chain_list is not None and mapping is not None:
        raise InputError("use either --chain or --chain-map, not both (--chain-map already names the reference chains)")
    models = {chain.chain_id: chain for chain in model_chains}
    references = {chain.chain_id: chain for chain in reference_chains}
    if mapping is not None:
        if len(set(mapping.values())) != len(mapping):
            raise InputError(f"--chain-map pairs two model chains with one reference chain ({mapping}); pair each once")
        _check_known(mapping.keys(), models, "model")
        _check_known(mapping.values(), references, "reference")
        by_reference = {reference: model for model, reference in mapping.items()}
        return [(models[by_reference[r.chain_id]], r) for r in reference_chains if r.chain_id in by_reference]
    if chain_list is not None:
        _check_known(chain_list, references, "reference")
        if len(model_chains) == 1 and len(chain_list) == 1:
            return [(model_chains[0], references[chain_list[0]])]
        _check_known(chain_list, models, "model")
        return [(models[r.chain_id], r) for r in reference_chains if r.chain_id in chain_list]
    if len(model_chains) == 1 and len(reference_chains) == 1:
        return [(model_chains[0], reference_chains[0])]
    pairs = [(models[r.chain_id], r) for r in reference_chains if r.chain_id in models]
    if not pairs:
        raise InputError(
            f"model chains {_names(models)} and reference chains {_names(references)} share no chain id; "
            "pair them with --chain-map MODEL:REFERENCE,..."
        )
    return pairs


def _check_known(ids, chains: dict[str, ChainRecord], which: str) -> None:
    """Raise :class:`InputError` for the first id not among ``chains``."""
    for chain_id in ids:
        if chain_id not in chains:
            raise InputError(
                f"the {which} has no protein chain {chain_id!r} (its protein chains: {_names(chains)}); "
                "check --chain/--chain-map"
            )


def _name(chain: ChainRecord) -> str:
    return repr(chain.chain_id)


def _names(chains: dict[str, ChainRecord]) -> str:
    return ", ".join(repr(chain_id) for chain_id in chains) or "none"
