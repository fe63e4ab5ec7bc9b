"""Load ``EsmForProteinFolding`` checkpoints (``config.json`` + safetensors or ``.bin``) strictly.

The checkpoint's parameter names are those of ``transformers``; remyfold's
network uses the same names except for the renames in :func:`checkpoint_key_to_model`.
Keys that the checkpoint may carry but that take no part in folding are
dropped by name (:data:`UNUSED_KEY_PREFIXES`); anything else missing,
unexpected or of the wrong shape is a :class:`WeightsError` that names it.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import torch

from remyfold.errors import WeightsError
from remyfold.mapped import MappedFile, map_checkpoint, release_source
from remyfold.model import ESMFold, FoldingConfig
from remyfold.model.config import ConfigError
from remyfold.model.esmfold import af2_to_esm_map

# Checkpoint keys with no role in structure prediction: ESM-2's contact-prediction
# head and the constant position-id buffer that older transformers saved.
UNUSED_KEY_PREFIXES = ("esm.contact_head.", "esm.embeddings.position_ids")
# RoPE frequencies: one buffer (transformers ≥ 4.5x), per layer (hub checkpoints), or the
# literal "layer.*" key that transformers 5 writes when it saves.
_ROTARY_KEY = re.compile(r"^esm\.(encoder\.layer\.(\d+|\*)\.attention\.self\.)?rotary_embeddings\.inv_freq$")
# Legacy LayerNorm parameter names.
_LEGACY_NORM = {".gamma": ".weight", ".beta": ".bias"}


def read_config(directory: Path) -> FoldingConfig:
    """Parse ``directory/config.json`` into a :class:`FoldingConfig`."""
    path = directory / "config.json"
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise WeightsError(f"no config.json in {directory}: pass --weights a directory saved by save_pretrained") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise WeightsError(f"{path} is not valid JSON ({err}); re-download the weights") from None
    try:
        return FoldingConfig.from_hf_dict(raw)
    except (ConfigError, KeyError, TypeError) as err:
        raise WeightsError(f"{path}: {err}") from None


def _weight_files(directory: Path) -> list[Path]:
    """The tensor files of a checkpoint, preferring safetensors; sharded checkpoints via their index."""
    for index_name, single in (("model.safetensors.index.json", "model.safetensors"),
                               ("pytorch_model.bin.index.json", "pytorch_model.bin")):  # fmt: skip
        index = directory / index_name
        if index.is_file():
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            return [directory / s for s in shards]
        if (directory / single).is_file():
            return [directory / single]
    raise WeightsError(
        f"no model.safetensors or pytorch_model.bin in {directory}: download the full checkpoint "
        "(remyfold weights download) or pass --weights DIR"
    )


def read_state_dict(directory: Path) -> dict[str, torch.Tensor]:
    """All tensors of the checkpoint in ``directory`` (on CPU, original dtypes)."""
    state: dict[str, torch.Tensor] = {}
    for path in _weight_files(directory):
        try:
            if path.suffix == ".safetensors":
                from safetensors.torch import load_file

                state.update(load_file(str(path)))
            else:
                state.update(torch.load(path, map_location="cpu", weights_only=True))
        except Exception as err:  # corrupt or truncated file: report, don't trace back
            raise WeightsError(f"cannot read {path} ({type(err).__name__}: {err}); re-download it") from None
    return state


def checkpoint_key_to_model(key: str) -> str | None:
    """Map a checkpoint key to remyfold's name; ``None`` for keys dropped by name."""
    if key.startswith(UNUSED_KEY_PREFIXES):
        return None
    if _ROTARY_KEY.match(key):
        return "esm.rotary.inv_freq"
    for old, new in _LEGACY_NORM.items():
        if key.endswith(old):
            key = key[: -len(old)] + new
    return key.replace(".attention.self.", ".attention.mha.")


def convert_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename checkpoint keys to remyfold's (per-layer rotary buffers must agree)."""
    return _renamed(state)[0]


def _renamed(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, list[str]]]:
    """:func:`convert_state_dict`, plus the checkpoint keys behind each model name."""
    out: dict[str, torch.Tensor] = {}
    origin: dict[str, list[str]] = {}
    for key, value in state.items():
        name = checkpoint_key_to_model(key)
        if name is None:
            continue
        if name in out and not torch.equal(out[name], value):
            raise WeightsError(f"checkpoint has differing copies of {name} (at {key}); the file is inconsistent")
        out[name] = value
        origin.setdefault(name, []).append(key)
    return out, origin


def load_state_dict_strict(model: ESMFold, state: dict[str, torch.Tensor]) -> None:
    """Copy ``state`` into ``model``; any missing, unexpected or mis-shaped tensor is an error."""
    state = convert_state_dict(state)
    expected = model.state_dict()
    check_state(model, state, expected)
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=True, assign=False)


def check_state(model: ESMFold, state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor] | None = None) -> None:
    """Raise :class:`WeightsError` unless ``state`` (model names) has exactly ``model``'s tensors and shapes.

    ``expected``: ``model.state_dict()`` when the caller already has it.
    """
    expected = model.state_dict() if expected is None else expected
    problems = []
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing:
        problems.append(f"missing {len(missing)}: {_few(missing)}")
    if unexpected:
        problems.append(f"unexpected {len(unexpected)}: {_few(unexpected)}")
    shapes = [f"{k} {tuple(state[k].shape)}≠{tuple(v.shape)}" for k, v in expected.items()
              if k in state and state[k].shape != v.shape]  # fmt: skip
    if shapes:
        problems.append(f"shape mismatch {len(shapes)}: {_few(shapes)}")
    if problems:
        raise WeightsError("checkpoint does not match its config.json: " + "; ".join(problems))
    if state["af2_to_esm"].cpu().long().tolist() != af2_to_esm_map(model.config.esm):
        raise WeightsError("checkpoint's af2_to_esm token map differs from its vocab_list; the checkpoint is inconsistent")


def _few(names: list[str], n: int = 5) -> str:
    return ", ".join(names[:n]) + (f", … (+{len(names) - n})" if len(names) > n else "")


def load_model(directory: Path, *, attention: str = "plain", lm_dtype: torch.dtype | None = None) -> ESMFold:
    """The network of the checkpoint in ``directory`` (:func:`load_mapped_model` without its mapped files)."""
    return load_mapped_model(directory, attention=attention, lm_dtype=lm_dtype)[0]


def load_mapped_model(directory: Path, *, attention: str = "plain",
                      lm_dtype: torch.dtype | None = None) -> tuple[ESMFold, list[MappedFile]]:  # fmt: skip
    """Build the network from ``directory/config.json`` and assign its weights strictly, without a second copy.

    The network is built on the meta device; the checkpoint is mapped (:mod:`remyfold.mapped`)
    and each tensor already in its in-memory dtype becomes the parameter itself
    (``load_state_dict(assign=True)``). In-memory dtypes (:func:`held_dtype`): float32 outside the
    language model; the language model's parameters as stored (``lm_dtype=None``: a float16 or
    bfloat16 tensor stays 16-bit and is read back as float32, which is exact — the published
    esmfold_v1 stores its language model in float16), or all in ``lm_dtype`` (float32; float16 for
    ``fp32-lm16``, read back as float32; bfloat16 for the ``bf16`` mode, computed in bfloat16).
    A tensor that changes dtype is converted into a new buffer and its file pages released, so the
    peak resident memory of a load is about the in-memory size of the weights.

    Returns the network and the mapped safetensors files its weights are views of (for
    :mod:`remyfold.paging`; none for ``.bin`` checkpoints).
    """
    from remyfold.lm_storage import compute_in_fp32

    config = read_config(directory)
    source, files = map_checkpoint(_weight_files(directory))
    with torch.device("meta"), _initialisers_skipped():
        model = ESMFold(config, attention=attention)
    state, origin = _renamed(source)
    del source
    expected = model.state_dict()
    check_state(model, state, expected)
    lm_params = {f"esm.{name}" for name, _ in model.esm.named_parameters()}
    for name, meta in expected.items():
        want = held_dtype(state[name].dtype, meta.dtype, lm_dtype if name in lm_params else meta.dtype)
        if state[name].dtype != want:
            state[name] = state[name].to(want)
            for key in origin[name]:
                release_source(files, key)
    model.load_state_dict(state, strict=True, assign=True)
    model.init_constants()
    stray = [name for name, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if stray:
        raise WeightsError(f"internal error: {_few(stray)} not loaded from the checkpoint")
    if lm_dtype != torch.bfloat16:  # 16-bit language-model weights are read as float32 (bf16 mode: computed in bf16)
        compute_in_fp32(model.esm)
    return model.eval(), files


@contextlib.contextmanager
def _initialisers_skipped() -> Iterator[None]:
    """``torch.nn.init``'s in-place initialisers do nothing while the network is built on the meta device.

    Every parameter is assigned from the checkpoint afterwards (strictly: a parameter left on the
    meta device is an error), so initial values are never used; and ``normal_`` on the meta device
    runs through PyTorch's reference decompositions, whose first use imports ``torch._dynamo``
    (1.7 s of a 3.2 s load measured on a 2-core machine).
    """
    init = torch.nn.init
    names = [n for n in dir(init) if n.endswith("_") and not n.startswith("_") and callable(getattr(init, n))]
    saved = {n: getattr(init, n) for n in names}
    for name in names:
        setattr(init, name, lambda tensor, *args, **kwargs: tensor)
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(init, name, fn)


def held_dtype(stored: torch.dtype, model_dtype: torch.dtype, wanted: torch.dtype | None) -> torch.dtype:
    """The in-memory dtype of a tensor: ``wanted``, or (``None``) as stored when that is a float dtype."""
    if not model_dtype.is_floating_point:
        return model_dtype
    if wanted is None:
        return stored if stored in (torch.float32, torch.float16, torch.bfloat16) else model_dtype
    return wanted
