"""Models of the benchmark: configurations, random weights, the reference and remyfold built from it.

Both networks get the same random weights: the reference (``transformers.EsmForProteinFolding``)
is built on the device and randomised; remyfold's network is filled strictly from the reference's
``state_dict`` in memory (:func:`remyfold.loading.load_state_dict_strict`) — no checkpoint on disk.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
FULL_CONFIG = ROOT / "tests" / "data" / "esmfold_v1_config.json"
AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
# Scaled-down variants of esmfold_v1 (ESM-2 dims, trunk dims, structure-module dims, pLDDT head width).
SCALED = {
    "tiny": ({"hidden_size": 32, "num_hidden_layers": 3, "num_attention_heads": 4, "intermediate_size": 64},
             {"num_blocks": 2, "sequence_state_dim": 64, "pairwise_state_dim": 32, "sequence_head_width": 16,
              "pairwise_head_width": 16},
             {"sequence_dim": 48, "pairwise_dim": 32, "ipa_dim": 8, "resnet_dim": 16, "num_heads_ipa": 4}, 16),
    "small": ({"hidden_size": 320, "num_hidden_layers": 6, "num_attention_heads": 20, "intermediate_size": 1280},
              {"num_blocks": 4, "sequence_state_dim": 256, "pairwise_state_dim": 64, "sequence_head_width": 32,
               "pairwise_head_width": 32},
              {"sequence_dim": 128, "pairwise_dim": 64, "ipa_dim": 16, "resnet_dim": 64, "num_heads_ipa": 8}, 64),
}  # fmt: skip


def model_config(name: str, device: torch.device) -> dict:
    """``config.json`` dictionary of esmfold_v1 (``full``) or a scaled-down variant; fp16 LM only on CUDA."""
    config = json.loads(FULL_CONFIG.read_text())
    if name in SCALED:
        lm, trunk, sm, lddt = SCALED[name]
        config.update(lm)
        config["esmfold_config"]["trunk"].update(trunk)
        config["esmfold_config"]["trunk"]["structure_module"].update(sm)
        config["esmfold_config"]["lddt_head_hid_dim"] = lddt
    config["esmfold_config"]["fp16_esm"] = device.type == "cuda"
    return config


def random_sequence(length: int, seed: str) -> str:
    """A reproducible sequence of the 20 standard amino acids."""
    rng = random.Random(seed)
    return "".join(rng.choice(AMINO_ACIDS) for _ in range(length))


def randomize_(model: torch.nn.Module, seed: int) -> None:
    """Overwrite every parameter: matrices ``N(0, 1/fan_in)``, norm scales ``1 + 0.1·N``, other vectors ``0.1·N``.

    (The reference's own init zeroes many output layers, which would make folding degenerate.)
    """
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, device=p.device)
            if p.dim() > 1:
                p.copy_(noise / math.sqrt(p.shape[-1]))
            elif "norm" in name.lower() and name.endswith("weight"):
                p.copy_(1 + 0.1 * noise)
            else:
                p.copy_(0.1 * noise)


def build_reference(config: dict, device: torch.device, seed: int):
    """The reference with random weights, built directly on ``device`` (LM fp16 there when configured)."""
    from transformers import EsmConfig, EsmForProteinFolding

    with torch.device(device):
        model = EsmForProteinFolding(EsmConfig(**config)).eval()
    randomize_(model, seed)
    return model


def build_remyfold(config: dict, state: dict, device: torch.device, attention: str):
    """remyfold's network on ``device``, filled strictly from the reference's ``state`` (fp32, CPU)."""
    from remyfold.loading import load_state_dict_strict
    from remyfold.model import ESMFold, FoldingConfig

    with torch.device("meta"):
        model = ESMFold(FoldingConfig.from_hf_dict(config), attention=attention)
    model = model.to_empty(device=device)
    model.init_constants()
    load_state_dict_strict(model, state)
    return model.eval()


def reference_forward(model, sequence: str, recycles: int, chunk: int | None):
    """One reference prediction (outputs stay on the device)."""
    from remyfold.api import encode_sequence

    device = next(model.parameters()).device
    encoded = encode_sequence("ref", sequence)
    aatype = torch.from_numpy(encoded.aatype)[None].to(device)
    model.trunk.set_chunk_size(chunk)
    with torch.no_grad():
        return model(aatype, attention_mask=torch.ones_like(aatype), num_recycles=recycles)
