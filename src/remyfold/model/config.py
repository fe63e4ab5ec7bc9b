"""Typed, frozen configuration of the ESMFold network.

The network is configured by :class:`FoldingConfig`, built once from the
``config.json`` dictionary of a ``transformers`` ``EsmForProteinFolding``
checkpoint (:meth:`FoldingConfig.from_hf_dict`). Option combinations are
checked here, up front, with specific errors; modules below the top level take
plain dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

ESM2_VOCAB = (
    "<cls> <pad> <eos> <unk> L A G V S E R T I D P F K Q N Y M H W C X B U Z O . - <null_1> <mask>"
).split()


class ConfigError(ValueError):
    """A configuration value or combination the engine does not support."""


@dataclass(frozen=True)
class EsmConfig:
    """ESM-2 protein language model (Lin et al., Science 2023)."""

    vocab_size: int = 33
    hidden_size: int = 2560
    num_layers: int = 36
    num_heads: int = 40
    intermediate_size: int = 10240
    layer_norm_eps: float = 1e-5
    token_dropout: bool = True
    emb_layer_norm_before: bool = False
    rope_theta: float = 10000.0
    vocab: tuple[str, ...] = tuple(ESM2_VOCAB)

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    def token_id(self, token: str) -> int:
        """Index of ``token`` (e.g. ``"<pad>"``) in the vocabulary."""
        return self.vocab.index(token)


@dataclass(frozen=True)
class StructureModuleConfig:
    """Structure module (AlphaFold 2 Algorithm 20) dimensions."""

    sequence_dim: int = 384
    pairwise_dim: int = 128
    ipa_dim: int = 16
    resnet_dim: int = 128
    num_heads_ipa: int = 12
    num_qk_points: int = 4
    num_v_points: int = 8
    num_blocks: int = 8
    num_transition_layers: int = 1
    num_resnet_blocks: int = 2
    num_angles: int = 7
    trans_scale_factor: float = 10.0
    epsilon: float = 1e-8
    inf: float = 1e5


@dataclass(frozen=True)
class TrunkConfig:
    """Folding trunk: stack of triangular self-attention blocks with recycling."""

    num_blocks: int = 48
    sequence_state_dim: int = 1024
    pairwise_state_dim: int = 128
    sequence_head_width: int = 32
    pairwise_head_width: int = 32
    position_bins: int = 32
    max_recycles: int = 4  # trunk passes run by default (the reference's num_recycles=None)
    chunk_size: int | None = None
    structure_module: StructureModuleConfig = field(default_factory=StructureModuleConfig)

    @property
    def default_num_recycles(self) -> int:
        """Recycles run when none are asked for: the reference's default of :attr:`max_recycles`
        trunk passes in all (4 passes = 3 recycles for esmfold_v1). The one place this is worked out."""
        return self.max_recycles - 1


@dataclass(frozen=True)
class FoldingConfig:
    """The whole ESMFold network."""

    esm: EsmConfig = field(default_factory=EsmConfig)
    trunk: TrunkConfig = field(default_factory=TrunkConfig)
    lddt_head_hid_dim: int = 128
    embed_aa: bool = True

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` for dimensions that cannot form a model."""
        esm, trunk = self.esm, self.trunk
        if esm.hidden_size % esm.num_heads:
            raise ConfigError(f"ESM hidden_size {esm.hidden_size} is not divisible by num_attention_heads {esm.num_heads}")
        if esm.head_dim % 2:
            raise ConfigError(f"ESM head dimension {esm.head_dim} must be even for rotary embeddings")
        for name, dim, width in (
            ("sequence_state_dim", trunk.sequence_state_dim, trunk.sequence_head_width),
            ("pairwise_state_dim", trunk.pairwise_state_dim, trunk.pairwise_head_width),
        ):
            if dim % width:
                raise ConfigError(f"trunk {name} {dim} is not divisible by its head width {width}")
        if trunk.pairwise_state_dim % 2:
            raise ConfigError(f"trunk pairwise_state_dim {trunk.pairwise_state_dim} must be even")
        if trunk.max_recycles < 1:
            # The reference runs max_recycles trunk passes by default; zero passes fold nothing.
            raise ConfigError(f"trunk max_recycles {trunk.max_recycles} must be at least 1 (trunk passes by default)")
        for token in ("<cls>", "<pad>", "<eos>", "<mask>"):
            if token not in esm.vocab:
                raise ConfigError(f"ESM vocabulary lacks the token {token}")

    @classmethod
    def from_hf_dict(cls, config: dict[str, Any]) -> "FoldingConfig":
        """Build from a ``transformers`` ``EsmConfig`` dictionary (``config.json``).

        Raises :class:`ConfigError` for checkpoints that are not ESMFold or use
        options this engine does not implement (rather than ignoring them).
        """
        if not config.get("is_folding_model", False) or not config.get("esmfold_config"):
            raise ConfigError("config.json is not an ESMFold model (is_folding_model is false or esmfold_config missing)")
        _check_unsupported(config)
        fold = config["esmfold_config"]
        trunk = dict(fold.get("trunk") or {})
        sm = _pick(StructureModuleConfig, trunk.pop("structure_module", None) or {})
        esm = EsmConfig(
            vocab_size=config.get("vocab_size", 33),
            hidden_size=config["hidden_size"],
            num_layers=config["num_hidden_layers"],
            num_heads=config["num_attention_heads"],
            intermediate_size=config["intermediate_size"],
            layer_norm_eps=config.get("layer_norm_eps", 1e-5),
            token_dropout=config.get("token_dropout", True),
            emb_layer_norm_before=bool(config.get("emb_layer_norm_before") or False),
            rope_theta=float(config.get("rope_theta", 10000.0) or 10000.0),
            vocab=tuple(config.get("vocab_list") or ESM2_VOCAB),
        )
        return cls(
            esm=esm,
            trunk=TrunkConfig(structure_module=sm, **_pick(TrunkConfig, trunk, skip=("structure_module",))),
            lddt_head_hid_dim=fold.get("lddt_head_hid_dim", 128),
            embed_aa=fold.get("embed_aa", True),
        )


def _pick(cls, values: dict[str, Any], skip: tuple[str, ...] = ()) -> Any:
    """Keep the keys of ``values`` that are fields of dataclass ``cls``."""
    names = {f.name for f in fields(cls)} - set(skip)
    picked = {k: v for k, v in values.items() if k in names}
    return cls(**picked) if cls is StructureModuleConfig else picked


def _check_unsupported(config: dict[str, Any]) -> None:
    """Reject ESMFold options that change the function but are not implemented."""
    fold = config["esmfold_config"]
    checks = {
        "position_embedding_type": (config.get("position_embedding_type", "rotary"), "rotary"),
        "esmfold_config.use_esm_attn_map": (fold.get("use_esm_attn_map", False), False),
        "esmfold_config.bypass_lm": (fold.get("bypass_lm", False), False),
        "esmfold_config.esm_ablate_pairwise": (fold.get("esm_ablate_pairwise", False), False),
        "esmfold_config.esm_ablate_sequence": (fold.get("esm_ablate_sequence", False), False),
        "is_decoder": (config.get("is_decoder", False), False),
    }
    for name, (value, supported) in checks.items():
        if value != supported:
            raise ConfigError(f"unsupported ESMFold option {name}={value!r} (only {supported!r} is implemented)")
