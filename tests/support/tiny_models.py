"""Tiny random ``transformers.EsmForProteinFolding`` models for tests (transformers is the test oracle)."""

from __future__ import annotations

import math
from pathlib import Path

import torch

ESM2_VOCAB = (
    "<cls> <pad> <eos> <unk> L A G V S E R T I D P F K Q N Y M H W C X B U Z O . - <null_1> <mask>"
).split()


def tiny_config_dict(**trunk_overrides) -> dict:
    """A small but complete ESMFold ``config.json`` dictionary (every component exercised)."""
    trunk = {
        "num_blocks": 2, "sequence_state_dim": 64, "pairwise_state_dim": 32, "sequence_head_width": 16,
        "pairwise_head_width": 16, "position_bins": 32, "max_recycles": 4, "chunk_size": None,
        "structure_module": {
            "sequence_dim": 48, "pairwise_dim": 32, "ipa_dim": 8, "resnet_dim": 16, "num_heads_ipa": 4,
            "num_qk_points": 4, "num_v_points": 8, "num_blocks": 8, "num_transition_layers": 1,
            "num_resnet_blocks": 2, "num_angles": 7, "trans_scale_factor": 10, "epsilon": 1e-8, "inf": 1e5,
        },
    }  # fmt: skip
    trunk.update(trunk_overrides)
    return {
        "vocab_size": 33, "hidden_size": 32, "num_hidden_layers": 3, "num_attention_heads": 4,
        "intermediate_size": 64, "position_embedding_type": "rotary", "token_dropout": True,
        "mask_token_id": 32, "pad_token_id": 1, "max_position_embeddings": 1026, "is_folding_model": True,
        "emb_layer_norm_before": False, "layer_norm_eps": 1e-5, "vocab_list": ESM2_VOCAB,
        "esmfold_config": {"fp16_esm": False, "embed_aa": True, "bypass_lm": False, "lddt_head_hid_dim": 16,
                           "trunk": trunk},
    }  # fmt: skip


def make_reference(seed: int = 0, **trunk_overrides):
    """A ``transformers.EsmForProteinFolding`` with every parameter random (seeded), in fp32 eval mode."""
    from transformers import EsmConfig, EsmForProteinFolding

    torch.manual_seed(seed)
    model = EsmForProteinFolding(EsmConfig(**tiny_config_dict(**trunk_overrides))).float().eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            # Random everywhere (the reference zero-initialises many output layers, which would hide bugs).
            fan_in = p.shape[-1] if p.dim() > 1 else 1
            scale = 1.0 if p.dim() == 1 and "norm" in name.lower() else 1.0 / math.sqrt(fan_in)
            noise = torch.randn(p.shape, generator=gen) * scale
            p.copy_(1.0 + 0.1 * noise if p.dim() == 1 and "norm" in name.lower() and name.endswith("weight") else noise)
    return model


def save_reference(model, directory: Path, safe_serialization: bool = True) -> Path:
    """``save_pretrained`` the reference to ``directory`` and return it."""
    model.save_pretrained(str(directory), safe_serialization=safe_serialization)
    return directory


def randomize_module(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Every parameter random, gates included (zero-initialised gates would hide mapping errors); eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) / (p.shape[-1] ** 0.5 if p.dim() > 1 else 3.0) + (p.dim() == 1))
    return module.eval()
