"""Public Python API: :class:`Folder` turns sequences into :class:`~remyfold.prediction.Prediction` objects.

Example::

    from remyfold import Folder
    folder = Folder.from_pretrained(device="auto")  # remyfold.settings.DEFAULT_WEIGHTS
    [pred] = folder.fold({"GPR17": "MNGLEVAPPGLITNFSLATAEQCGQETPLENMLFASFYLLDFILALVGNTLALWLFIRDHKSGTPANVFLMHLAVADLSCVLVLPTRLVYHFSGNHWPFGEIACRLTGFLFYLNMYASIYFLTCISADRFLAIVHPVKSLKLRRPLYAHLACAFLWVVVAVAMAPLLVSPQTVQTNHTVVCLQLYREKASHHALVSLAVAFTFPFITTVTCYLLIIRSLRQGLRVEKRLKTKAVRMIAIVLAIFLVCFVPYHVNRSVYVLHYRSHGASCATQRILALANRITSCLTSLNGALDPIMYFFVAEKFRHALCNLLCGKRLKGPPPSFEGKTNESSLSAKSEL"})
    print(pred.mean_plddt, pred.ptm)
    pred_pdb = remyfold.io.structure_writer.to_pdb_string(pred)

Complexes: chains separated by ``:`` are folded as one chain joined by a
25-glycine linker with residue indices offset by 512 per chain (ESMFold's
convention, :mod:`remyfold.sequence`); linker residues are removed from every output and never count in the
scores. A complex's prediction also has ``iptm``, ``ranking_confidence``, ``actifptm``,
``chain_pair_iptm`` and ``chain_pair_pae_min`` (:mod:`remyfold.model.interface_confidence`);
for a single chain they are ``None``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from remyfold.allocator import choose_allocator, release_free_memory
from remyfold.devices import resolve_device
from remyfold.errors import InputError
from remyfold.lm_storage import drop_upcast, hold_in_half, release_upcast_buffers, stored_dtypes
from remyfold.model.config import ConfigError
from remyfold.model.heads import pae_bin_centers, predicted_tm_score
from remyfold.model.interface_confidence import InterfaceConfidence, interface_confidence, ranking_confidence
from remyfold.model.kernels import KernelOptions, apply_kernels
from remyfold.model.memory import MemoryBudgetError, rows_within
from remyfold.model.primitives import attention_sdpa
from remyfold.model.residue_constants import RESTYPES
from remyfold.precision import default_precision, fold_numerics
from remyfold.prediction import Chain, Prediction
from remyfold.sequence import CHAIN_IDS, LINKER, RESIDUE_INDEX_OFFSET, plan_batches
from remyfold.settings import (CUDA_ONLY_PRECISIONS, DEFAULT_MAX_TOKENS_PER_BATCH, DEFAULT_WEIGHTS, PAGING_CHOICES,
                               PRECISIONS, EngineSettings)  # fmt: skip

# The precisions that only CUDA runs: tf32 is fp32 with TF32 matmuls, scoped to each fold
# (remyfold.precision.fold_numerics).
CUDA_PRECISIONS = CUDA_ONLY_PRECISIONS
# How each precision holds the language model's weights, for loading.load_model.
LM_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp32-lm16": torch.float16, "tf32": None}
# What attention="auto" (and so remyfold predict) runs on each device type: the implementation
# measured faster there. CPU (bench/results/cpu-attention*.md: both in one process, ABBA order;
# the triangle layers are blocked either way, so the choice serves ESM-2 and the sequence
# attention): plain 16.4 s against SDPA 17.6 s at 64 residues (median of 4), equal within 0.4 %
# at 128 and 256. CUDA: the fused SDPA kernels.
AUTO_ATTENTION = {"cpu": "plain", "cuda": "sdpa"}
DEFAULT_ATTENTION = AUTO_ATTENTION["cuda"]  # the GPU benchmark's default (bench/gpu/bench.py)
# The largest pair-transition hidden layer an unset chunk size allows on the CPU (auto_chunk_size):
# 64 MiB, instead of 328 MB unchunked at 400 residues.
CPU_CHUNK_BYTES = 64 << 20
MAX_PAE = float(pae_bin_centers(torch.device("cpu"))[-1])  # 31.75 Å, the last PAE bin centre
_AA_INDEX = {aa: i for i, aa in enumerate(RESTYPES)} | {"X": len(RESTYPES)}


def auto_chunk_size(device: torch.device, length: int, c_z: int, batch: int = 1) -> int | None:
    """Rows per chunk when none is set on the CPU: as many as keep the pair transition's hidden
    layer ``[batch, rows, L, 4·C_z]`` (fp32) within :data:`CPU_CHUNK_BYTES`; unchunked whenever all
    rows fit (up to 181 residues for one esmfold_v1 record). ``None`` on other devices: CUDA sizes
    chunks from its free memory (:meth:`Folder.cuda_chunk_size`)."""
    if device.type != "cpu":
        return None
    rows = CPU_CHUNK_BYTES // (batch * length * 4 * c_z * 4)
    return None if rows >= length else max(1, rows)


def available_precisions(device: torch.device) -> tuple[str, ...]:
    """The numeric modes ``device`` runs: :data:`PRECISIONS`, those of :data:`CUDA_PRECISIONS` on CUDA only."""
    return tuple(p for p in PRECISIONS if device.type == "cuda" or p not in CUDA_PRECISIONS)


@dataclass(frozen=True)
class EncodedRecord:
    """A record as the network sees it (chains joined by linkers).

    Attributes: aatype, residue_index: ``[L_total]`` int64.  keep: ``[L_total]`` bool, False on linkers.
        chain_index: ``[L_total]`` chain of each residue (linkers count with the chain before them).
    """

    chains: list[Chain]
    aatype: np.ndarray
    residue_index: np.ndarray
    keep: np.ndarray
    chain_index: np.ndarray


def encode_sequence(record_id: str, sequence: str) -> EncodedRecord:
    """Encode ``A:B:...`` into network inputs with ESMFold's multimer convention."""
    parts = sequence.upper().split(":")
    if len(parts) > len(CHAIN_IDS):
        raise InputError(f"record {record_id}: {len(parts)} chains, at most {len(CHAIN_IDS)} are supported")
    aatype, residx, keep, chain_index = [], [], [], []
    position = 0
    for c, chain in enumerate(parts):
        if not chain:
            raise InputError(f"record {record_id}: chain {c + 1} is empty; remove the extra ':'")
        bad = next((i for i, a in enumerate(chain) if a not in _AA_INDEX), None)
        if bad is not None:
            raise InputError(
                f"record {record_id}: chain {c + 1} position {bad + 1} has {chain[bad]!r}, not an amino acid; "
                "use the 20 standard letters or X"
            )
        segment = chain + (LINKER if c < len(parts) - 1 else "")
        aatype += [_AA_INDEX[a] for a in segment]
        residx += [position + i + c * RESIDUE_INDEX_OFFSET for i in range(len(segment))]
        keep += [True] * len(chain) + [False] * (len(segment) - len(chain))
        chain_index += [c] * len(segment)
        position += len(segment)
    chains = [Chain(CHAIN_IDS[c], chain) for c, chain in enumerate(parts)]
    return EncodedRecord(chains, np.array(aatype), np.array(residx), np.array(keep), np.array(chain_index))


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` → the device's default (:func:`~remyfold.precision.default_precision`); else
    ``precision`` itself, which must be one of :data:`~remyfold.settings.PRECISIONS`."""
    if precision == "auto":
        precision = default_precision(device)
    if precision not in available_precisions(device):
        raise InputError(f"--precision {precision}: not available on {device.type}; "
                         f"choose one of {', '.join(available_precisions(device))}")  # fmt: skip
    return precision


def auto_attention(device: torch.device) -> str:
    """The attention implementation ``attention="auto"`` picks on ``device`` (:data:`AUTO_ATTENTION`)."""
    return AUTO_ATTENTION.get(device.type, "plain")


class Folder:
    """A loaded ESMFold network on a device, ready to fold sequences.

    Build it with :meth:`from_pretrained`. ``chunk_size`` bounds the memory of
    the pair-state operations (rows per chunk); ``None`` picks :func:`auto_chunk_size` per batch
    (whole on a GPU, and on the CPU up to 181 residues per record).
    """

    def __init__(self, model, *, device: torch.device, precision: str = "fp32", chunk_size: int | None = None,
                 model_name: str = "", weights_revision: str = "", kernels: KernelOptions | None = None,
                 threads: int | None = None, max_memory: int | None = None, paging: str = "auto",
                 mapped_files: list | None = None):  # fmt: skip
        """``mapped_files``: the mapped checkpoint files ``model``'s weights are views of
        (:func:`remyfold.loading.load_mapped_model`); without them nothing is paged."""
        precision = resolve_precision(precision, device)
        if chunk_size is not None and chunk_size <= 0:
            raise InputError(f"chunk size must be a positive number of rows, got {chunk_size}")
        if max_memory is not None and max_memory <= 0:
            raise InputError(f"max memory must be a positive number of bytes, got {max_memory}")
        if paging not in PAGING_CHOICES:
            raise InputError(f"paging {paging}: choose one of {', '.join(PAGING_CHOICES)}")
        from remyfold.threads import use_threads

        self.threads = use_threads(threads)  # torch's CPU threads: the cores available unless given
        self._set_numerics(model, precision, device)
        self.model = model.to(device).eval()
        kernels = kernels or KernelOptions()
        self.cpu_allocator = choose_allocator(kernels.cpu_allocator, device.type)
        self.model.esm.register_forward_hook(self._after_language_model)
        try:
            self.kernels = apply_kernels(self.model, kernels, device)
        except ConfigError as err:
            raise InputError(str(err)) from None
        self.device, self.precision, self.chunk_size, self.max_memory = device, precision, chunk_size, max_memory
        self.model_name, self.weights_revision = model_name, weights_revision
        self.paging, self.pager, self.memory, self.budget = paging, None, None, None
        if device.type == "cpu":
            self._plan_memory(mapped_files or [])
        elif paging == "on":
            raise InputError(f"--paging on: weights are paged on the CPU only, not on {device.type}")

    def _plan_memory(self, files: list) -> None:
        """CPU: the weight pager (:mod:`remyfold.paging`), the memory model and the budget
        (``max_memory``, else ``MemAvailable`` plus what the process holds outside the mapping now)."""
        from remyfold.memory_plan import (Budget, CpuMemoryModel, fold_dims, lm_scratch_bytes, meminfo_bytes,
                                          process_rss_bytes)  # fmt: skip
        from remyfold.paging import WeightPager, mapped_resident_bytes

        self.pager = WeightPager(self.model, files)
        weights = self.pager.bytes
        if self.paging == "on" and not weights.pageable:
            raise InputError(f"--paging on: the weights cannot be paged ({weights.reason}); use --paging auto or off")
        own = process_rss_bytes() - (mapped_resident_bytes(files) if files else 0)
        scratch = lm_scratch_bytes(self.model) if self.precision != "bf16" else 0
        self.memory = CpuMemoryModel(fold_dims(self.model), weights, max(own - weights.held, 0), scratch)
        available = meminfo_bytes()
        if self.max_memory is not None:
            self.budget = Budget(self.max_memory, given=True)
        elif available is not None:
            self.budget = Budget(available + own, given=False)

    def memory_plan(self, batch: int, length: int):
        """CPU: how a fold of ``batch`` x ``length`` residues runs (:func:`remyfold.memory_plan.plan_cpu_fold`);
        ``None`` on other devices or where the machine's memory is unknown and no max memory is set.

        Raises InputError (one line: need, budget, the longest length that fits) when it cannot fit.
        """
        if self.memory is None or self.budget is None:
            return None
        from remyfold.memory_plan import plan_cpu_fold

        default = auto_chunk_size(self.device, length, self.model.config.trunk.pairwise_state_dim, batch)
        try:
            return plan_cpu_fold(self.memory, self.budget, batch, length, paging=self.paging,
                                 chunk_size=self.chunk_size, default_rows=default)  # fmt: skip
        except MemoryBudgetError as err:
            raise InputError(str(err)) from None

    def check_fits(self, records: list[tuple[str, str]]) -> None:
        """Raise InputError, before any folding, if the batch ``records`` cannot fit in memory."""
        lengths = [len(encode_sequence(rid, seq).aatype) for rid, seq in records]
        self.memory_plan(len(lengths), max(lengths))

    @staticmethod
    def _set_numerics(model, precision: str, device: torch.device) -> None:
        """Put the weights in the dtypes ``precision`` computes in (before moving them to ``device``).

        bf16: language model and trunk in bfloat16 (``ESMFold.hold_trunk_in``). fp32-lm16: the
        language model held in float16, read as fp32. On CUDA a language model stored in 16 bits
        (esmfold_v1: float16) computes in its stored dtype, as the reference does on a GPU
        (``fp16_esm``); on the CPU it is read as fp32 (exact upcast).
        """
        if precision == "bf16":
            drop_upcast(model.esm).to(torch.bfloat16)
            model.hold_trunk_in(torch.bfloat16)
            return
        if precision == "fp32-lm16":
            hold_in_half(model.esm)
        if device.type == "cuda" and stored_dtypes(model.esm) <= {torch.float16, torch.bfloat16}:
            drop_upcast(model.esm)

    def cuda_chunk_size(self, batch: int, length: int) -> int | None:
        """Rows per chunk on CUDA: the most that fit in ``max_memory`` bytes, or in the device's
        free memory now (:func:`torch.cuda.mem_get_info`) — :func:`remyfold.model.memory.rows_within`.

        Raises InputError (one line: the need, the budget, what to do) when the fold cannot fit.
        """
        trunk = self.model.config.trunk
        budget = self.max_memory or torch.cuda.mem_get_info(self.device)[0]
        state_bytes = self.model.trunk.state_dtype.itemsize
        fused = self.model.trunk.blocks[0].tri_att_start.mha.attention is attention_sdpa
        heads = trunk.pairwise_state_dim // trunk.pairwise_head_width
        try:
            return rows_within(budget, batch, length, trunk.pairwise_state_dim, heads, state_bytes, fused).rows
        except MemoryBudgetError as err:
            raise InputError(f"{err}; fold shorter sequences or fewer at once, use precision bf16, "
                             "or set a larger max memory") from None  # fmt: skip

    def _fold_plan(self, batch: int, length: int) -> tuple[int | None, bool]:
        """Rows per chunk and whether the weights are paged, for one batch: on the CPU the memory
        plan's; elsewhere the chunk size set, else chosen for the device (never paged)."""
        plan = self.memory_plan(batch, length)
        if plan is not None:
            return plan.rows, plan.paged
        if self.chunk_size is not None:
            return self.chunk_size, self.paging == "on"
        if self.device.type == "cuda":
            return self.cuda_chunk_size(batch, length), False
        return auto_chunk_size(self.device, length, self.model.config.trunk.pairwise_state_dim, batch), self.paging == "on"

    @property
    def default_num_recycles(self) -> int:
        """Recycles run when none are asked for: the reference's default of ``max_recycles`` trunk
        passes from the model's ``config.json`` (4 passes = 3 recycles for esmfold_v1)."""
        return self.model.config.trunk.default_num_recycles

    @classmethod
    def from_pretrained(cls, weights=DEFAULT_WEIGHTS, *, device: str = "auto", precision: str = "auto",
                        chunk_size: int | None = None, attention: str = "auto",
                        kernels: KernelOptions | None = None, threads: int | None = None,
                        max_memory: int | None = None, paging: str = "auto") -> "Folder":  # fmt: skip
        """Load weights (a local directory, a hub id, or a resolved :class:`~remyfold.weights.ResolvedWeights`).

        ``attention="auto"`` picks per device what was measured faster there
        (:data:`AUTO_ATTENTION`: PyTorch's fused SDPA kernels on CUDA, the plain path on the CPU);
        ``"plain"`` is the reference implementation. Both compute the same function (see
        the equivalence tests). ``precision="auto"`` is :func:`remyfold.precision.default_precision`
        for the device (fp32: the H100 drift of bf16 is outside the precision rule). ``kernels``
        picks optional fused kernels (:mod:`remyfold.model.kernels`). ``threads``: torch's CPU
        threads (default: the cores available). The settings are checked once, by
        :class:`~remyfold.settings.EngineSettings`.
        """
        from remyfold.weights import ResolvedWeights

        resolved = weights if isinstance(weights, ResolvedWeights) else None
        settings = EngineSettings(weights=resolved.directory if resolved else weights, device=device,
                                  precision=precision, attention=attention, chunk_size=chunk_size, threads=threads,
                                  max_memory=max_memory, paging=paging)  # fmt: skip
        return cls.from_settings(settings, kernels=kernels, resolved=resolved)

    @classmethod
    def from_settings(cls, settings: EngineSettings, *, kernels: KernelOptions | None = None,
                      resolved=None) -> "Folder":  # fmt: skip
        """Load the engine ``settings`` describe (their ``weights``, unless already ``resolved``).

        The device is resolved and ``auto`` precision / attention picked here, once.
        """
        from remyfold.loading import load_mapped_model
        from remyfold.weights import resolve_weights

        dev = resolve_device(settings.device)
        resolved = resolved if resolved is not None else resolve_weights(settings.weights)
        attention = auto_attention(dev) if settings.attention == "auto" else settings.attention
        precision = resolve_precision(settings.precision, dev)
        model, files = load_mapped_model(Path(resolved.directory), attention=attention, lm_dtype=LM_DTYPES[precision])
        return cls(model, device=dev, precision=precision, chunk_size=settings.chunk_size, kernels=kernels,
                   threads=settings.threads, model_name=resolved.name, weights_revision=resolved.revision,
                   max_memory=settings.max_memory, paging=settings.paging, mapped_files=files)  # fmt: skip

    def fold(self, sequences: Mapping[str, str] | Iterable[str], *, num_recycles: int | None = None,
             max_tokens_per_batch: int = DEFAULT_MAX_TOKENS_PER_BATCH) -> list[Prediction]:  # fmt: skip
        """Fold sequences (a ``{id: sequence}`` mapping or a list, ids then ``seq1``, ``seq2``...).

        ``num_recycles=N`` runs N recycles (N+1 trunk passes), the reference's ``num_recycles=N``;
        ``None`` runs what the reference runs without it (:attr:`default_num_recycles`).
        """
        records = list(sequences.items()) if isinstance(sequences, Mapping) else [
            (f"seq{i + 1}", s) for i, s in enumerate(sequences)]  # fmt: skip
        encoded = [encode_sequence(rid, seq) for rid, seq in records]
        results: list[Prediction | None] = [None] * len(records)
        for batch in plan_batches([len(e.aatype) for e in encoded], max_tokens_per_batch):
            for i, pred in zip(batch, self.fold_batch([records[i] for i in batch], num_recycles=num_recycles)):
                results[i] = pred
        return results  # type: ignore[return-value]

    def fold_batch(self, records: list[tuple[str, str]], *, num_recycles: int | None = None,
                   progress: Callable[[str], None] | None = None) -> list[Prediction]:  # fmt: skip
        """Fold ``(id, sequence)`` records in one padded forward pass; Predictions in input order.

        ``progress`` is called with each stage's name as it starts (see :meth:`ESMFold.forward`).
        """
        recycles = self.default_num_recycles if num_recycles is None else num_recycles
        if recycles < 0:
            raise InputError(f"number of recycles must be ≥ 0, got {recycles}")
        encoded = [encode_sequence(rid, seq) for rid, seq in records]
        aatype, mask, residx = self._collate(encoded)
        chunk, paged = self._fold_plan(aatype.shape[0], aatype.shape[1])
        start = time.perf_counter()
        paging = self.pager.paging(paged) if self.pager is not None else contextlib.nullcontext()
        with torch.inference_mode(), fold_numerics(self.precision, self.device), paging:
            out = self.model(aatype, mask, residx, num_recycles=recycles, chunk_size=chunk, progress=progress)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        elapsed = time.perf_counter() - start
        total = sum(len(e.aatype) for e in encoded)
        complexes = self._interface_confidence(encoded, out)
        predictions = [
            self._prediction(rid, enc, out, b, recycles, elapsed * len(enc.aatype) / total, chunk, complexes)
            for b, ((rid, _), enc) in enumerate(zip(records, encoded))
        ]
        del out
        self._release_heap()
        return predictions

    def _after_language_model(self, *_) -> None:
        """Forward hook of the language model: hand its memory back before the trunk runs (the
        upcast buffers, then the heap's free memory)."""
        release_upcast_buffers(self.model.esm)
        self._release_heap()

    def _release_heap(self) -> None:
        """Under the CPU's ``reuse`` heap policy, return the heap's free memory to the system."""
        if self.cpu_allocator == "reuse":
            release_free_memory()

    def _collate(self, encoded: list[EncodedRecord]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pad records to ``[B, L_max]`` aatype, mask (bool) and residue index tensors."""
        n = max(len(e.aatype) for e in encoded)
        aatype = torch.zeros(len(encoded), n, dtype=torch.long)
        mask = torch.zeros(len(encoded), n, dtype=torch.bool)
        residx = torch.zeros(len(encoded), n, dtype=torch.long)
        for b, e in enumerate(encoded):
            aatype[b, : len(e.aatype)] = torch.from_numpy(e.aatype)
            mask[b, : len(e.aatype)] = True
            residx[b, : len(e.aatype)] = torch.from_numpy(e.residue_index)
        return aatype.to(self.device), mask.to(self.device), residx.to(self.device)

    def _interface_confidence(self, encoded: list[EncodedRecord], out) -> InterfaceConfidence | None:
        """ipTM, chain-pair scores and actifpTM of the batch (linkers and padding labelled -1);
        ``None`` when no record of the batch is a complex."""
        if all(len(e.chains) < 2 for e in encoded):
            return None
        chain = torch.full(out.pae.shape[:2], -1, dtype=torch.long)
        for b, e in enumerate(encoded):
            chain[b, : len(e.aatype)] = torch.from_numpy(np.where(e.keep, e.chain_index, -1))
        return interface_confidence(out.pae_logits, out.pae, out.distogram_logits, chain.to(self.device))

    def _prediction(self, rid: str, enc: EncodedRecord, out, b: int, recycles: int, seconds: float,
                    chunk: int | None, complexes: InterfaceConfidence | None = None) -> Prediction:  # fmt: skip
        """Cut record ``b`` out of the batch outputs and drop its linker residues."""
        n = len(enc.aatype)
        keep = torch.from_numpy(enc.keep).to(self.device)
        # pTM over the chains' residues (linkers weigh 0); for one chain this is ESMFold's pTM.
        ptm = predicted_tm_score(out.pae_logits[b, :n, :n].float(), keep.float())
        scores = _complex_scores(complexes, b, len(enc.chains), float(ptm))
        take = lambda t: t[b, :n][keep].float().cpu().numpy()  # noqa: E731
        pae = out.pae[b, :n, :n][keep][:, keep].float().cpu().numpy()
        kept_chain = enc.chain_index[enc.keep]
        residue_number = np.concatenate([np.arange(1, len(c.sequence) + 1) for c in enc.chains])
        return Prediction(
            id=rid, chains=enc.chains, aatype=enc.aatype[enc.keep], positions=take(out.atom37),
            atom_mask=take(out.atom37_mask) > 0, plddt=take(out.plddt), pae=pae, ptm=float(ptm),
            chain_index=kept_chain, residue_number=residue_number, num_recycles=recycles,
            model_name=self.model_name, weights_revision=self.weights_revision, precision=self.precision,
            seconds=seconds, extra={"max_pae": MAX_PAE, "chunk_size": chunk}, **scores,
        )  # fmt: skip


def _complex_scores(complexes: InterfaceConfidence | None, b: int, num_chains: int, ptm: float) -> dict:
    """Prediction fields of record ``b``'s complex scores; ``{}`` (all absent) for a single chain."""
    if complexes is None or num_chains < 2:
        return {}
    iptm = complexes.iptm[b]
    return {
        "iptm": float(iptm),
        "ranking_confidence": float(ranking_confidence(iptm, torch.tensor(ptm, device=iptm.device))),
        "actifptm": float(complexes.actifptm[b]),
        "chain_pair_iptm": complexes.chain_pair_iptm[b, :num_chains, :num_chains].cpu().numpy(),
        "chain_pair_pae_min": complexes.chain_pair_pae_min[b, :num_chains, :num_chains].cpu().numpy(),
    }
