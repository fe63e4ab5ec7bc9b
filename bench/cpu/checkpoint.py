"""Write a seeded random ESMFold checkpoint as a hub-style directory, one tensor at a time.

``config.json`` + ``model.safetensors`` laid out as ``EsmForProteinFolding.save_pretrained`` writes
them (same key names, legacy ``gamma``/``beta`` LayerNorm names and one ``layer.*`` rotary key), in
the dtypes of the published ``facebook/esmfold_v1`` checkpoint: its config has
``esmfold_config.fp16_esm = true``, so the language model (``esm.*``) is stored in float16 and
everything else in float32 — 2.83 B × 2 bytes + 0.69 B × 4 bytes = 8.44 GB, the size of the
published ``model.safetensors``. Values follow :func:`models.randomize_`'s rule (matrices
``N(0, 1/fan_in)``, norm scales ``1 + 0.1·N``, other vectors ``0.1·N``), seeded per tensor.

The file is streamed (safetensors format: 8-byte little-endian header length, JSON header of
``dtype``/``shape``/``data_offsets``, then the raw little-endian bytes), so writing the 3.5-billion
parameter model needs one tensor's memory, not the model's.

Usage: ``python bench/cpu/checkpoint.py --config full --out DIR`` (``--config tiny`` for tests).
"""

from __future__ import annotations

import argparse
import json
import math
import struct
import sys
import zlib
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "common")]

from models import model_config  # noqa: E402

_ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
_LEGACY_NORM = (".LayerNorm.weight", ".LayerNorm.gamma"), (".LayerNorm.bias", ".LayerNorm.beta")
_ROTARY_KEY = "esm.encoder.layer.*.attention.self.rotary_embeddings.inv_freq"


def published_config(name: str, lm_fp16: bool = True) -> dict:
    """``config.json`` of esmfold_v1 (or a scaled variant) with the published ``fp16_esm = true``.

    ``lm_fp16=False`` stores the language model in float32 instead (``fp16_esm = false``): the same
    seeded values, unrounded — the checkpoint on which ``--precision fp32-lm16`` has a drift.
    """
    config = model_config(name, torch.device("cpu"))
    config["esmfold_config"]["fp16_esm"] = lm_fp16
    return config


def saved_name(key: str) -> str:
    """The name ``save_pretrained`` gives a state-dict key (legacy LayerNorm names in the encoder layers)."""
    if key == "esm.rotary_embeddings.inv_freq":
        return _ROTARY_KEY
    if key.startswith("esm.encoder.layer."):
        for new, old in _LEGACY_NORM:
            if key.endswith(new):
                return key[: -len(new)] + old
    return key


def tensor_plan(config: dict) -> tuple[list[tuple[str, torch.Size, torch.dtype]], dict[str, torch.Tensor]]:
    """Names, shapes and dtypes of the reference's state dict (built on the meta device), and its constant buffers."""
    from transformers import EsmConfig, EsmForProteinFolding

    with torch.device("meta"):
        model = EsmForProteinFolding(EsmConfig(**config))
    plan = [(key, value.shape, value.dtype) for key, value in model.state_dict().items()]
    head_dim = config["hidden_size"] // config["num_attention_heads"]
    inv_freq = 1.0 / (10000 ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    constants = {
        "af2_to_esm": model._af2_to_esm_from_vocab_list(config["vocab_list"]).to("cpu"),
        "esm.rotary_embeddings.inv_freq": inv_freq,
    }
    return plan, constants


def random_tensor(key: str, shape: torch.Size, seed: int) -> torch.Tensor:
    """Seeded fp32 values for parameter ``key`` (the rule of :func:`models.randomize_`)."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(key.encode()))
    noise = torch.randn(shape, generator=generator)
    if len(shape) > 1:
        return noise.div_(math.sqrt(shape[-1]))
    if "norm" in key.lower() and key.endswith("weight"):
        return noise.mul_(0.1).add_(1.0)
    return noise.mul_(0.1)


def write_random_checkpoint(config: dict, directory: Path, seed: int = 0) -> Path:
    """Write ``directory/config.json`` and ``directory/model.safetensors``; returns the directory."""
    plan, constants = tensor_plan(config)
    header, offset = {}, 0
    for key, shape, dtype in plan:
        size = math.prod(shape) * torch.empty((), dtype=dtype).element_size()
        header[saved_name(key)] = {"dtype": _ST_DTYPES[dtype], "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    header["__metadata__"] = {"format": "pt"}
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # align the data to 8 bytes
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / "model.safetensors.partial"
    with partial.open("wb") as handle:
        handle.write(struct.pack("<Q", len(blob)) + blob)
        for key, shape, dtype in plan:
            value = constants[key] if key in constants else random_tensor(key, shape, seed)
            handle.write(value.to(dtype).contiguous().view(torch.uint8).numpy().tobytes())
    partial.replace(directory / "model.safetensors")
    (directory / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return directory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="full", choices=["full", "small", "tiny"])
    parser.add_argument("--out", type=Path, required=True, help="directory to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lm-fp32", action="store_true", help="store the language model in float32 (not as published)")
    args = parser.parse_args(argv)
    write_random_checkpoint(published_config(args.config, lm_fp16=not args.lm_fp32), args.out, args.seed)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
