"""Residue correspondence between a model and a reference: chain pairing, then residue pairing.

Chains are paired (see :func:`pair_chains`); the residues of each chain pair are
paired by the first of these that applies (:func:`align_chains`):

1. **numbering**: both chains number the same sequence the same way — residue
   numbers (with insertion codes) unique in each chain, shared by at least half
   of the shorter chain, and the residues sharing a number identical in at least
   :data:`NUMBERING_IDENTITY` of the cases (unknown residues not counted).
   Residues pair by number, as the
   ``TMscore`` program pairs them; residues missing from either copy are simply
   unpaired, whatever their sequence context.
2. **full sequence**: both chains carry the same full (SEQRES / entity) sequence
   and every residue its position in it (``label_seq_id``): residues pair by position.
3. **alignment** of the observed sequences that respects chain breaks
   (:mod:`remyfold.metrics.sequence_alignment`: Gotoh with BLOSUM62, a gap of k
   residues costing 11 + 2k): where one chain has a break (a jump in residue numbering or a
   Cα–Cα distance above :data:`BREAK_DISTANCE`), opening a gap costs nothing, so
   residues that the other chain has there are left unpaired rather than shifted
   onto the wrong neighbours; where the numbering jump says how many residues are
   missing (:func:`missing_residues`), exactly that many of the other chain's are
   left unpaired there; terminal gaps are free too (tags, truncations).
4. **structure**: where that alignment's identity is below :data:`SEQUENCE_RELIABLE`
   (distant homologs, where sequence alignments go wrong), TM-align's structure
   alignment (:mod:`remyfold.metrics.structure_pairing`, needs ``tmtools``).

``pairing="numbering"``, ``"sequence"`` or ``"structure"`` forces one way (step 1;
steps 2-3; step 4). Each :class:`ChainAlignment` says which way was used and why.

A pair of chains "does not align" when fewer than :data:`MIN_ALIGNED` residues
pair up (all of them, for a chain shorter than that), or a sequence pairing's
identity (counting only pairs where both residues are known, i.e. not
``X``/UNK) is below :data:`MIN_IDENTITY`, or, in the automatic choice, the
structure alignment's TM-score is below :data:`SAME_FOLD_TM` (different folds):
then the chains are not the same protein and scores would be meaningless.
Chains of unknown residues (UNK) pair like any other chain.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from remyfold.errors import InputError
from remyfold.io.structure_reader import ChainRecord

MIN_ALIGNED = 3
MIN_IDENTITY = 0.3
SEQUENCE_RELIABLE = 0.5
SAME_FOLD_TM = 0.5
#: Chains at least this long can be judged "same fold" by the TM-score over the shorter one.
FOLD_MIN_LENGTH = 30
NUMBERING_IDENTITY = 0.9
BREAK_DISTANCE = 4.2
MAX_MISSING_FILL = 100
#: Longest Cα–Cα span per peptide bond (Å) for which a numbering jump counts as missing residues.
SPAN_PER_BOND = 3.9
PAIRINGS = ("auto", "sequence", "numbering", "structure")


@dataclass(frozen=True)
class ChainAlignment:
    """Residue pairs of one model chain and one reference chain.

    Attributes:
        model: the model chain.
        reference: the reference chain.
        model_residues: ``[K]`` int, residue indices into ``model`` of the pairs.
        reference_residues: ``[K]`` int, the matching residue indices into ``reference`` (increasing).
        identical: number of pairs with the same one-letter code.
        method: how residues were paired: ``"numbering"``, ``"full sequence"``, ``"alignment"``
            (sequence) or ``"structure"`` (TM-align).
        reason: why that pairing was used, one sentence.
    """

    model: ChainRecord
    reference: ChainRecord
    model_residues: np.ndarray
    reference_residues: np.ndarray
    identical: int
    method: str = "alignment"
    reason: str = ""

    @property
    def aligned(self) -> int:
        """Number of aligned residue pairs ``K``."""
        return len(self.model_residues)

    @property
    def identity(self) -> float | None:
        """Identity of the pairs where both residues are known (not ``X``); ``None`` if there are none."""
        model_letters = np.frombuffer(self.model.sequence.encode(), dtype="S1")[self.model_residues]
        reference_letters = np.frombuffer(self.reference.sequence.encode(), dtype="S1")[self.reference_residues]
        known = (model_letters != b"X") & (reference_letters != b"X")
        return float(np.mean(model_letters[known] == reference_letters[known])) if known.any() else None


def align_chains(model: ChainRecord, reference: ChainRecord, pairing: str = "auto") -> ChainAlignment:
    """Pair the residues of two chains (see the module docstring).

    ``pairing``: ``"auto"`` (numbering, full sequence, sequence alignment, and a structure
    alignment below :data:`SEQUENCE_RELIABLE` identity), ``"numbering"`` (only by numbering),
    ``"sequence"`` (full sequence or sequence alignment) or ``"structure"`` (TM-align).

    Raises:
        InputError: the chains do not align (see the module docstring), an unknown
            ``pairing``, or a structure pairing without ``tmtools``.
    """
    if pairing not in PAIRINGS:
        raise InputError(f"--pairing {pairing!r} is not one of {', '.join(PAIRINGS)}")
    if pairing == "structure":
        return _by_structure(model, reference, "asked for with --pairing structure")
    if pairing in ("auto", "numbering"):
        pairs = _pair_by_numbering(model, reference)
        if pairs is not None:
            return _checked(_alignment(model, reference, pairs, "numbering", "residue numbers agree"))
        if pairing == "numbering":
            raise InputError(
                f"model chain {_name(model)} and reference chain {_name(reference)} cannot be paired by residue "
                "numbering (too few shared numbers, or the residues sharing a number differ); use --pairing auto"
            )
    pairs = _pair_by_full_sequence(model, reference)
    if pairs is not None:
        return _checked(_alignment(model, reference, pairs, "full sequence", "same full sequence (label_seq_id)"))
    result = _alignment(model, reference, _pair_by_alignment(model, reference), "alignment", "")
    identity = result.identity
    if pairing == "sequence" or (identity is not None and identity >= reliable_identity(result.aligned)):
        note = "no known residue pairs" if identity is None else f"{identity:.0%} identical"
        why = "asked for with --pairing sequence" if pairing == "sequence" else f"at least {SEQUENCE_RELIABLE:.0%}"
        return _checked(replace(result, reason=f"sequence alignment (BLOSUM62), {note}: {why}"))
    shown = "no known residue pairs" if identity is None else f"{identity:.0%} identical"
    needed = reliable_identity(result.aligned)
    return _by_structure(
        model,
        reference,
        f"sequence alignment {shown} over {result.aligned} residues, below the {needed:.0%} where it is reliable",
    )


def reliable_identity(aligned: int) -> float:
    """Identity from which a sequence alignment of ``aligned`` residues is trusted: the larger of
    :data:`SEQUENCE_RELIABLE` and Rost's (1999) twilight-zone curve
    ``4.80 * L ** (-0.32 * (1 + exp(-L / 1000)))``, at most 1 (below 12 residues only identical
    sequences are trusted)."""
    if aligned < 1:
        return 1.0
    twilight = 4.80 * aligned ** (-0.32 * (1 + math.exp(-aligned / 1000)))
    return min(max(SEQUENCE_RELIABLE, twilight), 1.0)


def _alignment(model: ChainRecord, reference: ChainRecord, pairs, method: str, reason: str) -> ChainAlignment:
    """A :class:`ChainAlignment` of index pairs ``([K], [K])``, counting identical residues."""
    model_residues, reference_residues = pairs
    model_letters = np.frombuffer(model.sequence.encode(), dtype="S1")[model_residues]
    reference_letters = np.frombuffer(reference.sequence.encode(), dtype="S1")[reference_residues]
    identical = int((model_letters == reference_letters).sum())
    return ChainAlignment(model, reference, model_residues, reference_residues, identical, method, reason)


def _checked(result: ChainAlignment) -> ChainAlignment:
    """``result`` if enough residues pair and they are the same protein; else :class:`InputError`."""
    model, reference = result.model, result.reference
    identity = result.identity
    # Chains shorter than MIN_ALIGNED (a one-residue peptide, a capped residue) need all of theirs.
    needed = max(1, min(MIN_ALIGNED, model.length, reference.length))
    known_pairs = identity is not None and result.aligned >= MIN_ALIGNED
    if result.aligned < needed or (known_pairs and identity < MIN_IDENTITY):
        shown = f", {identity:.0%} identical" if known_pairs else ""
        raise InputError(
            f"model chain {_name(model)} and reference chain {_name(reference)} do not align "
            f"({result.aligned} aligned residues{shown}); they must be the same protein or close homologs: "
            "pick the matching chains with --chain or --chain-map, or pair by structure with --pairing structure"
        )
    return result


def _by_structure(model: ChainRecord, reference: ChainRecord, why: str) -> ChainAlignment:
    """Pairs from TM-align's structure alignment (:mod:`remyfold.metrics.structure_pairing`).

    Raises:
        InputError: ``tmtools`` is missing, or, unless asked for, the folds differ
            (TM-score below :data:`SAME_FOLD_TM`).
    """
    from remyfold.metrics.structure_pairing import EXTRA_HINT, structure_available, tm_align_pairs

    if min(model.length, reference.length) < MIN_ALIGNED:
        raise InputError(
            f"model chain {_name(model)} and reference chain {_name(reference)} do not align: {why}, and a chain of "
            f"fewer than {MIN_ALIGNED} residues cannot be aligned by structure; pick the matching chains with --chain "
            "or --chain-map"
        )
    if not structure_available():
        raise InputError(
            f"model chain {_name(model)} and reference chain {_name(reference)}: {why}; {EXTRA_HINT}, "
            "or force a sequence alignment with --pairing sequence"
        )
    found = tm_align_pairs(model.ca_positions, reference.ca_positions, model.sequence, reference.sequence)
    result = _alignment(
        model, reference, (found.query_residues, found.target_residues), "structure",
        f"structure alignment (TM-align): {why}",
    )  # fmt: skip
    # Same fold over the shorter chain (a domain of a larger chain), when it is long enough to have one.
    fold_tm = found.tm_score
    if min(model.length, reference.length) >= FOLD_MIN_LENGTH:
        fold_tm = max(fold_tm, found.tm_score_query)
    if not why.startswith("asked") and fold_tm < SAME_FOLD_TM:
        raise InputError(
            f"model chain {_name(model)} and reference chain {_name(reference)} do not align: {why}, and their "
            f"structures do not superpose either (TM-align TM-score {fold_tm:.2f} < {SAME_FOLD_TM}); pick the "
            "matching chains with --chain or --chain-map, or force it with --pairing structure"
        )
    if result.aligned < max(1, min(MIN_ALIGNED, model.length, reference.length)):
        raise InputError(
            f"model chain {_name(model)} and reference chain {_name(reference)}: TM-align pairs no residues"
        )
    return result


def _pair_by_keys(model_keys: list, reference_keys: list) -> tuple[np.ndarray, np.ndarray] | None:
    """Indices of residues sharing a key, in reference order; ``None`` if a key repeats in a chain."""
    model_index = {key: i for i, key in enumerate(model_keys)}
    if len(model_index) != len(model_keys) or len(set(reference_keys)) != len(reference_keys):
        return None
    pairs = [(model_index[key], j) for j, key in enumerate(reference_keys) if key in model_index]
    if not pairs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    model_residues, reference_residues = (np.asarray(side, dtype=np.int64) for side in zip(*pairs))
    return model_residues, reference_residues


def _consistent(model: ChainRecord, reference: ChainRecord, pairs) -> bool:
    """Whether key-paired residues cover half the shorter chain with the same residues."""
    if pairs is None or len(pairs[0]) < max(MIN_ALIGNED, 0.5 * min(model.length, reference.length)):
        return False
    model_letters = np.frombuffer(model.sequence.encode(), dtype="S1")[pairs[0]]
    reference_letters = np.frombuffer(reference.sequence.encode(), dtype="S1")[pairs[1]]
    # Unknown residues (X) neither confirm nor contradict the numbering.
    known = (model_letters != b"X") & (reference_letters != b"X")
    if known.sum() < MIN_ALIGNED:
        return True
    return float(np.mean(model_letters[known] == reference_letters[known])) >= NUMBERING_IDENTITY


def _pair_by_numbering(model: ChainRecord, reference: ChainRecord):
    """Pairs by residue number and insertion code, when both chains number alike; else ``None``."""

    def keys(chain: ChainRecord) -> list:
        return list(zip(chain.residue_numbers.tolist(), chain.insertion_codes))

    pairs = _pair_by_keys(keys(model), keys(reference))
    return pairs if _consistent(model, reference, pairs) else None


def _pair_by_full_sequence(model: ChainRecord, reference: ChainRecord):
    """Pairs by position in the full sequence, when both carry the same one; else ``None``."""
    if not model.full_sequence or model.full_sequence != reference.full_sequence:
        return None
    if (model.label_seq < 1).any() or (reference.label_seq < 1).any():
        return None
    pairs = _pair_by_keys(model.label_seq.tolist(), reference.label_seq.tolist())
    return pairs if _consistent(model, reference, pairs) else None


def chain_breaks(chain: ChainRecord) -> np.ndarray:
    """``[N]`` bool: residue ``i`` follows a break (numbering jump or long Cα–Cα gap); residue 0 is not."""
    ca = chain.ca_positions
    jump = np.diff(chain.residue_numbers) > 1
    far = np.linalg.norm(np.diff(ca, axis=0), axis=1) > BREAK_DISTANCE
    return np.concatenate([[False], jump | far])


def missing_residues(chain: ChainRecord) -> np.ndarray:
    """``[N]`` int: residues the numbering says are missing before residue ``i``.

    A jump in residue number of ``k + 1`` counts as ``k`` missing residues where the Cα–Cα
    distance across it is a break (above :data:`BREAK_DISTANCE`) that ``k + 1`` peptide bonds
    can span, and ``k`` is at most :data:`MAX_MISSING_FILL`; elsewhere (numbering schemes that
    skip numbers over a continuous chain, renumbered segments) 0.
    """
    jump = np.diff(chain.residue_numbers)
    distance = np.linalg.norm(np.diff(chain.ca_positions, axis=0), axis=1)
    spans = (jump > 1) & (distance > BREAK_DISTANCE) & (distance <= SPAN_PER_BOND * jump)
    spans &= jump - 1 <= MAX_MISSING_FILL
    return np.concatenate([[0], np.where(spans, jump - 1, 0)]).astype(np.int64)


def _pair_by_alignment(model: ChainRecord, reference: ChainRecord) -> tuple[np.ndarray, np.ndarray]:
    """Pairs from a global alignment whose gaps open freely at either chain's breaks and ends and
    whose holes of known size (:func:`missing_residues`) are filled one for one."""
    from remyfold.metrics.sequence_alignment import align_with_breaks

    return align_with_breaks(
        model.sequence,
        reference.sequence,
        chain_breaks(model),
        chain_breaks(reference),
        missing_residues(model),
        missing_residues(reference),
    )


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
