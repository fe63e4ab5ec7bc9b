"""The engine's settings: one frozen :class:`EngineSettings`, validated once (torch-free).

Every place that runs the engine takes its settings from here: ``remyfold predict`` (its flags'
defaults and choices), the predict pipeline (:class:`remyfold.pipeline.PredictOptions` holds one),
``remyfold serve`` (:class:`remyfold.serve.config.ServeConfig`), the Dask cluster (through the
pipeline) and the Python API (:meth:`remyfold.api.Folder.from_pretrained`). This module imports
nothing heavy, so ``remyfold predict --help`` stays fast.

Defaults written once here: the weights (:data:`DEFAULT_WEIGHTS`), the numeric modes
(:data:`PRECISIONS`), the attention implementations, the token budget of a batch
(:data:`DEFAULT_MAX_TOKENS_PER_BATCH`) and the longest record (:data:`DEFAULT_MAX_LENGTH`). The
recycle count run when none is given is the weights' own
(:attr:`remyfold.model.config.TrunkConfig.default_num_recycles`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from remyfold.errors import InputError

#: The trained ESMFold weights on the Hugging Face Hub.
DEFAULT_WEIGHTS = "facebook/esmfold_v1"
#: Numeric modes of the engine, each with its one-line description (the first is the reference's).
#: fp32 holds the language model as the checkpoint stores it (float16 in esmfold_v1, read as fp32:
#: exact); bf16 runs ESM-2 and the trunk (weights, sequence and pair state) in bfloat16, structure
#: module and heads in fp32; fp32-lm16 keeps fp32 arithmetic with the language model's weights held in float16
#: (a checkpoint's fp32 language model is rounded once at load, :mod:`remyfold.lm_storage`).
PRECISION_HELP = {
    "fp32": "the reference's arithmetic (default)",
    "bf16": "ESM-2, the trunk's weights and its sequence and pair state in bfloat16; structure module and "
            "heads in fp32, opt-in: it does not compute the reference's function (Calpha drift from fp32 "
            "measured at 0.4-11 A on random weights, docs/speed-and-memory.md)",
    "fp32-lm16": "fp32 arithmetic with the language model's weights held in float16 (8.4 instead of 14.1 GB)",
    "tf32": "CUDA only: fp32 with TF32 tensor-core matmuls, switched on for the fold alone, opt-in",
}
PRECISIONS = tuple(PRECISION_HELP)
#: The precisions only a CUDA device runs (checked when the device is known, in :mod:`remyfold.api`).
CUDA_ONLY_PRECISIONS = ("tf32",)
#: ``auto`` picks per device (:func:`remyfold.precision.default_precision`); only the API defaults to it.
AUTO = "auto"
ATTENTION_CHOICES = ("auto", "plain", "sdpa")
#: Default token budget: batch size × longest padded length of a batch.
DEFAULT_MAX_TOKENS_PER_BATCH = 1024
#: Default longest record (residues over all chains, linkers excluded).
DEFAULT_MAX_LENGTH = 4096
DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
#: Weight paging on the CPU (:mod:`remyfold.paging`): ``auto`` pages only when the fold does not
#: fit in memory with the weights held; ``on``/``off`` force it (benchmarks).
PAGING_CHOICES = ("auto", "on", "off")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str, flag: str = "--max-memory") -> int:
    """Bytes of a size such as ``16G``, ``16GiB``, ``12000M``, ``1.5g`` or ``8589934592``
    (binary units: K/M/G/T, with or without ``iB``/``B``).

    Raises: InputError (one line, naming ``flag``) for anything else or a size of zero.
    """
    match = _SIZE.match(str(text))
    if not match:
        raise InputError(f"{flag} {text}: expected a size such as 16G, 16GiB or 12000M")
    value = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if value <= 0:
        raise InputError(f"{flag} {text}: must be more than 0")
    return value


@dataclass(frozen=True)
class EngineSettings:
    """How the engine runs: which weights, where, in which numeric mode, how much at a time.

    Attributes:
        weights: a weights folder or a Hugging Face Hub id.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (whether that GPU exists is checked
            where torch is, :func:`remyfold.devices.check_device`).
        precision: one of :data:`PRECISIONS`, or ``auto`` (the device's default).
        attention: one of :data:`ATTENTION_CHOICES`.
        num_recycles: recycles after the first trunk pass; ``None``: the weights' default.
        chunk_size: rows per chunk of the pair-state operations; ``None``: chosen per batch.
        threads: torch's CPU threads; ``None``: the cores available to the process.
        max_tokens_per_batch: batch size × longest folded length of a batch, at most.
        max_length: longest record accepted (residues over all chains).
        max_memory: bytes a fold may keep resident (CPU: the memory plan, :mod:`remyfold.memory_plan`;
            CUDA: the chunk size); ``None``: what the machine (or GPU) has available.
        paging: one of :data:`PAGING_CHOICES` (CPU weight paging, :mod:`remyfold.paging`).

    Raises:
        InputError: a one-line message naming the flag, for the first bad value.
    """

    weights: str | Path = DEFAULT_WEIGHTS
    device: str = "auto"
    precision: str = "fp32"
    attention: str = "auto"
    num_recycles: int | None = None
    chunk_size: int | None = None
    threads: int | None = None
    max_tokens_per_batch: int = DEFAULT_MAX_TOKENS_PER_BATCH
    max_length: int = DEFAULT_MAX_LENGTH
    max_memory: int | None = None
    paging: str = "auto"

    def __post_init__(self) -> None:
        if not isinstance(self.device, str) or not DEVICE_PATTERN.match(self.device):
            raise InputError(f"--device {self.device}: expected auto, cpu, cuda or cuda:N")
        if self.precision not in (*PRECISIONS, AUTO):
            raise InputError(f"--precision {self.precision}: choose one of {', '.join(PRECISIONS)}")
        if self.attention not in ATTENTION_CHOICES:
            raise InputError(f"--attention {self.attention}: choose one of {', '.join(ATTENTION_CHOICES)}")
        if self.num_recycles is not None and (not _is_int(self.num_recycles) or self.num_recycles < 0):
            raise InputError(f"--num-recycles {self.num_recycles}: must be 0 or more")
        for flag, value in (
            ("--chunk-size", self.chunk_size),
            ("--threads", self.threads),
            ("--max-length", self.max_length),
            ("--max-tokens-per-batch", self.max_tokens_per_batch),
            ("--max-memory", self.max_memory),
        ):
            if value is not None and (not _is_int(value) or value <= 0):
                raise InputError(f"{flag} {value}: must be a positive number")
        if self.paging not in PAGING_CHOICES:
            raise InputError(f"--paging {self.paging}: choose one of {', '.join(PAGING_CHOICES)}")


def _is_int(value) -> bool:
    """An integer, not a bool (``True`` is not a count)."""
    return isinstance(value, int) and not isinstance(value, bool)
