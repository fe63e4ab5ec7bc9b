"""Public Python API: :class:`Folder` turns sequences into :class:`~remyfold.prediction.Prediction` objects.

Example::

    from remyfold import Folder
    folder = Folder.from_pretrained("facebook/esmfold_v1", device="auto")
    [pred] = folder.fold({"GPR17": "MNGLEVAPPGLITNFSLATAEQCGQETPLENMLFASFYLLDFILALVGNTLALWLFIRDHKSGTPANVFLMHLAVADLSCVLVLPTRLVYHFSGNHWPFGEIACRLTGFLFYLNMYASIYFLTCISADRFLAIVHPVKSLKLRRPLYAHLACAFLWVVVAVAMAPLLVSPQTVQTNHTVVCLQLYREKASHHALVSLAVAFTFPFITTVTCYLLIIRSLRQGLRVEKRLKTKAVRMIAIVLAIFLVCFVPYHVNRSVYVLHYRSHGASCATQRILALANRITSCLTSLNGALDPIMYFFVAEKFRHALCNLLCGKRLKGPPPSFEGKTNESSLSAKSEL"})
    print(pred.mean_plddt, pred.ptm)
    pred_pdb = remyfold.io.structure_writer.to_pdb_string(pred)

Complexes: chains separated by ``:`` are folded as one chain joined by a
25-glycine linker with residue indices offset by 512 per chain (ESMFold's
convention); linker residues are removed from every output.
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
from remyfold.errors import InputError
from remyfold.lm_storage import drop_upcast, hold_in_half, release_upcast_buffers
from remyfold.model.config import ConfigError
from remyfold.model.heads import pae_bin_centers, predicted_tm_score
from remyfold.model.kernels import KernelOptions, apply_kernels
from remyfold.model.residue_constants import RESTYPES
from remyfold.precision import default_precision
from remyfold.prediction import CHAIN_IDS, Chain, Prediction

# fp32: the reference's arithmetic. bf16: language model weights in bfloat16 and the trunk under
# bfloat16 autocast; structure module and heads stay fp32 (opt-in, see README for its drift).
# fp32 holds the language model as the checkpoint stores it (float16 in esmfold_v1, read as fp32:
# exact). fp32-lm16: fp32 arithmetic with the language model's weights always held in float16,
# rounding a checkpoint's fp32 language model once at load (remyfold.lm_storage; drift in README).
PRECISIONS = ("fp32", "bf16", "fp32-lm16")
LM_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp32-lm16": torch.float16}  # for loading.load_model
ATTENTION_CHOICES = ("auto", "plain", "sdpa")
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
LINKER = "G" * 25
RESIDUE_INDEX_OFFSET = 512
MAX_PAE = float(pae_bin_centers(torch.device("cpu"))[-1])  # 31.75 Å, the last PAE bin centre
_AA_INDEX = {aa: i for i, aa in enumerate(RESTYPES)} | {"X": len(RESTYPES)}


def auto_chunk_size(device: torch.device, length: int, c_z: int, batch: int = 1) -> int | None:
    """Rows per chunk when none is set: on the CPU, as many as keep the pair transition's hidden
    layer ``[batch, rows, L, 4·C_z]`` (fp32) within :data:`CPU_CHUNK_BYTES`; unchunked on other
    devices and whenever all rows fit (up to 181 residues for one esmfold_v1 record)."""
    if device.type != "cpu":
        return None
    rows = CPU_CHUNK_BYTES // (batch * length * 4 * c_z * 4)
    return None if rows >= length else max(1, rows)


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


def resolve_device(device: str) -> torch.device:
    """``auto`` → the first CUDA device if there is one, else the CPU; ``cuda[:N]`` must exist."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise InputError(f"--device {device!r} is not a device; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"--device {device}: no CUDA GPU is available here; use --device cpu or auto")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif dev.type != "cpu":
        raise InputError(f"--device {device!r} is not supported; use auto, cpu, cuda or cuda:N")
    return dev


def auto_attention(device: torch.device) -> str:
    """The attention implementation ``attention="auto"`` picks on ``device`` (:data:`AUTO_ATTENTION`)."""
    return AUTO_ATTENTION.get(device.type, "plain")


def plan_batches(lengths: list[int], max_tokens: int) -> list[list[int]]:
    """Group record indices so that ``batch size × longest length ≤ max_tokens``.

    Records are sorted by length (similar lengths share a batch, little padding);
    a record longer than the budget is a batch of its own.
    """
    batches: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        if batches and (len(batches[-1]) + 1) * lengths[i] <= max_tokens:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


class Folder:
    """A loaded ESMFold network on a device, ready to fold sequences.

    Build it with :meth:`from_pretrained`. ``chunk_size`` bounds the memory of
    the pair-state operations (rows per chunk); ``None`` picks :func:`auto_chunk_size` per batch
    (whole on a GPU, and on the CPU up to 181 residues per record).
    """

    def __init__(self, model, *, device: torch.device, precision: str = "fp32", chunk_size: int | None = None,
                 model_name: str = "", weights_revision: str = "", kernels: KernelOptions | None = None,
                 threads: int | None = None):  # fmt: skip
        if precision == "auto":
            precision = default_precision(device)
        if precision not in PRECISIONS:
            raise InputError(f"precision {precision!r} is not available; choose one of {', '.join(PRECISIONS)}")
        if chunk_size is not None and chunk_size <= 0:
            raise InputError(f"chunk size must be a positive number of rows, got {chunk_size}")
        from remyfold.threads import use_threads

        self.threads = use_threads(threads)  # torch's CPU threads: the cores available unless given
        if precision == "bf16":
            drop_upcast(model.esm).to(torch.bfloat16)
        elif precision == "fp32-lm16":
            hold_in_half(model.esm)
        self.model = model.to(device).eval()
        kernels = kernels or KernelOptions()
        self.cpu_allocator = choose_allocator(kernels.cpu_allocator, device.type)
        self.model.esm.register_forward_hook(self._after_language_model)
        try:
            self.kernels = apply_kernels(self.model, kernels, device)
        except ConfigError as err:
            raise InputError(str(err)) from None
        self.device, self.precision, self.chunk_size = device, precision, chunk_size
        self.model_name, self.weights_revision = model_name, weights_revision

    @property
    def default_num_recycles(self) -> int:
        """Recycles run when none are asked for: the reference's default of ``max_recycles`` trunk
        passes from the model's ``config.json`` (4 passes = 3 recycles for esmfold_v1)."""
        return self.model.config.trunk.max_recycles - 1

    @classmethod
    def from_pretrained(cls, weights="facebook/esmfold_v1", *, device: str = "auto", precision: str = "auto",
                        chunk_size: int | None = None, attention: str = "auto",
                        kernels: KernelOptions | None = None, threads: int | None = None) -> "Folder":  # fmt: skip
        """Load weights (a local directory, a hub id, or a resolved :class:`~remyfold.weights.ResolvedWeights`).

        ``attention="auto"`` picks per device what was measured faster there
        (:data:`AUTO_ATTENTION`: PyTorch's fused SDPA kernels on CUDA, the plain path on the CPU);
        ``"plain"`` is the reference implementation. Both compute the same function (see
        the equivalence tests). ``precision="auto"`` is :func:`remyfold.precision.default_precision`
        for the device (fp32: the H100 drift of bf16 is outside the precision rule). ``kernels``
        picks optional fused kernels (:mod:`remyfold.model.kernels`). ``threads``: torch's CPU
        threads (default: the cores available).
        """
        from remyfold.loading import load_model
        from remyfold.weights import ResolvedWeights, resolve_weights

        if precision not in (*PRECISIONS, "auto"):
            raise InputError(f"precision {precision!r} is not available; choose one of {', '.join(PRECISIONS)} or auto")
        if attention not in ATTENTION_CHOICES:
            raise InputError(f"attention {attention!r} is not available; choose one of {', '.join(ATTENTION_CHOICES)}")
        dev = resolve_device(device)
        resolved = weights if isinstance(weights, ResolvedWeights) else resolve_weights(weights)
        if attention == "auto":
            attention = auto_attention(dev)
        if precision == "auto":
            precision = default_precision(dev)
        if precision not in PRECISIONS:
            raise InputError(f"precision {precision!r} is not available; choose one of {', '.join(PRECISIONS)}")
        model = load_model(Path(resolved.directory), attention=attention, lm_dtype=LM_DTYPES[precision])
        return cls(model, device=dev, precision=precision, chunk_size=chunk_size, kernels=kernels, threads=threads,
                   model_name=resolved.name, weights_revision=resolved.revision)  # fmt: skip

    def fold(self, sequences: Mapping[str, str] | Iterable[str], *, num_recycles: int | None = None,
             max_tokens_per_batch: int = 1024) -> list[Prediction]:  # fmt: skip
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
        start = time.perf_counter()
        c_z = self.model.config.trunk.pairwise_state_dim
        chunk = self.chunk_size or auto_chunk_size(self.device, aatype.shape[1], c_z, aatype.shape[0])
        with torch.inference_mode(), self._autocast():
            out = self.model(aatype, mask, residx, num_recycles=recycles, chunk_size=chunk, progress=progress)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        elapsed = time.perf_counter() - start
        total = sum(len(e.aatype) for e in encoded)
        predictions = [
            self._prediction(rid, enc, out, b, recycles, elapsed * len(enc.aatype) / total)
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

    def _autocast(self):
        """bfloat16 autocast for ``bf16``; nothing for ``fp32``."""
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

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

    def _prediction(self, rid: str, enc: EncodedRecord, out, b: int, recycles: int, seconds: float) -> Prediction:
        """Cut record ``b`` out of the batch outputs and drop its linker residues."""
        n = len(enc.aatype)
        keep = torch.from_numpy(enc.keep).to(self.device)
        # pTM over the chains' residues (linkers weigh 0); for one chain this is ESMFold's pTM.
        ptm = predicted_tm_score(out.pae_logits[b, :n, :n].float(), keep.float())
        take = lambda t: t[b, :n][keep].float().cpu().numpy()  # noqa: E731
        pae = out.pae[b, :n, :n][keep][:, keep].float().cpu().numpy()
        kept_chain = enc.chain_index[enc.keep]
        residue_number = np.concatenate([np.arange(1, len(c.sequence) + 1) for c in enc.chains])
        return Prediction(
            id=rid, chains=enc.chains, aatype=enc.aatype[enc.keep], positions=take(out.atom37),
            atom_mask=take(out.atom37_mask) > 0, plddt=take(out.plddt), pae=pae, ptm=float(ptm),
            chain_index=kept_chain, residue_number=residue_number, num_recycles=recycles,
            model_name=self.model_name, weights_revision=self.weights_revision, precision=self.precision,
            seconds=seconds, extra={"max_pae": MAX_PAE},
        )  # fmt: skip
