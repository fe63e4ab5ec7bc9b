"""ESMFold (Lin et al., Science 2023): ESM-2 → folding trunk → structure module → heads.

Inputs are residue-type indices in AlphaFold order (``ARNDCQEGHILKMFPSTWYV``,
20 = unknown). The language model's hidden states of all layers are combined
with learned softmax weights into the initial sequence state; the pair state
starts at zero. Parameter names match ``transformers.EsmForProteinFolding``
(see :mod:`remyfold.loading` for the few renamed keys).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from remyfold.model.config import EsmConfig, FoldingConfig
from remyfold.model.esm import EsmLanguageModel
from remyfold.model.heads import PAE_BINS, lddt_head, plddt_from_logits, predicted_aligned_error
from remyfold.model.primitives import chunked
from remyfold.model.residue_constants import RESTYPES
from remyfold.model.residue_tables import residue_tables
from remyfold.model.structure_module import StructureModule
from remyfold.model.trunk import FoldingTrunk

NUM_AA_TOKENS = len(RESTYPES) + 3  # 20 + X + two reserved indices, as in ESMFold


@dataclass
class FoldingOutput:
    """Per-batch outputs; ``B`` sequences padded to ``L`` residues.

    Attributes:
        atom14: ``[B, L, 14, 3]`` final atom14 coordinates (Å).
        atom37: ``[B, L, 37, 3]`` the same in atom37 layout.
        atom37_mask: ``[B, L, 37]`` which atom37 slots exist (0 on padding).
        plddt: ``[B, L, 37]`` per-atom pLDDT (0–100).
        pae: ``[B, L, L]`` predicted aligned error (Å).
        pae_logits: ``[B, L, L, 64]`` aligned-error logits (for pTM over any residue subset).
        distogram_logits: ``[B, L, L, 64]`` symmetric Cβ-distance logits (contact probabilities).
    """

    atom14: torch.Tensor
    atom37: torch.Tensor
    atom37_mask: torch.Tensor
    plddt: torch.Tensor
    pae: torch.Tensor
    pae_logits: torch.Tensor
    distogram_logits: torch.Tensor


def af2_to_esm_map(esm: EsmConfig) -> list[int]:
    """ESM token id of [padding] followed by each residue type ``ARNDCQEGHILKMFPSTWYV`` + ``X``."""
    return [esm.token_id("<pad>")] + [esm.token_id(a) for a in RESTYPES + "X"]


class ESMFold(nn.Module):
    """The whole network. Args: config: dimensions.  attention: ``plain`` or ``sdpa`` for every attention."""

    def __init__(self, config: FoldingConfig, attention: str = "plain"):
        super().__init__()
        self.config = config
        esm, trunk, sm = config.esm, config.trunk, config.trunk.structure_module
        self.esm = EsmLanguageModel(
            esm.vocab_size, esm.hidden_size, esm.num_layers, esm.num_heads, esm.intermediate_size,
            pad_id=esm.token_id("<pad>"), mask_id=esm.token_id("<mask>"), eps=esm.layer_norm_eps,
            token_dropout=esm.token_dropout, emb_layer_norm_before=esm.emb_layer_norm_before,
            rope_theta=esm.rope_theta, attention=attention,
        )  # fmt: skip
        # Loaded from the checkpoint, which must agree with af2_to_esm_map(config.esm).
        self.register_buffer("af2_to_esm", torch.tensor(af2_to_esm_map(esm)))
        self.esm_s_combine = nn.Parameter(torch.zeros(esm.num_layers + 1))
        c_s, c_z = trunk.sequence_state_dim, trunk.pairwise_state_dim
        self.esm_s_mlp = nn.Sequential(
            nn.LayerNorm(esm.hidden_size), nn.Linear(esm.hidden_size, c_s), nn.ReLU(), nn.Linear(c_s, c_s)
        )
        if config.embed_aa:
            self.embedding = nn.Embedding(NUM_AA_TOKENS, c_s, padding_idx=0)
        structure_module = StructureModule(sm)
        self.trunk = FoldingTrunk(
            trunk.num_blocks, c_s, c_z, trunk.sequence_head_width, trunk.pairwise_head_width,
            trunk.position_bins, structure_module, attention,
        )  # fmt: skip
        self.distogram_head = nn.Linear(c_z, PAE_BINS)
        self.ptm_head = nn.Linear(c_z, PAE_BINS)
        self.lm_head = nn.Linear(c_s, NUM_AA_TOKENS)
        self.lddt_head = lddt_head(sm.sequence_dim, config.lddt_head_hid_dim)
        tables = residue_tables()
        self.register_buffer("atom37_to_atom14", torch.from_numpy(tables.atom37_to_atom14), persistent=False)
        self.register_buffer("atom37_mask", torch.from_numpy(tables.atom37_mask), persistent=False)

    def hold_trunk_in(self, dtype: torch.dtype) -> None:
        """Hold the trunk's weights, and so its sequence and pair state, in ``dtype`` (real bf16).

        The structure module, the projections into it, the heads and the language-model
        combination stay as they are (fp32): only the block stack, the recycling embeddings and
        the relative-position embedding change.
        """
        trunk = self.trunk
        for module in (trunk.blocks, trunk.pairwise_positional_embedding, trunk.recycle_s_norm,
                       trunk.recycle_z_norm, trunk.recycle_disto):  # fmt: skip
            module.to(dtype)

    def layer_stacks(self) -> tuple[nn.ModuleList, nn.ModuleList]:
        """The module lists whose members run one after another, each once per pass and then not
        again until the next pass: the language model's layers and the trunk's blocks. (Whoever
        holds the weights may act around each member's forward; the network does not care how.)"""
        return self.esm.encoder["layer"], self.trunk.blocks

    def init_constants(self) -> None:
        """Refill the residue-geometry tables (non-persistent buffers) after ``to_empty``, or create them on meta."""
        tables = residue_tables()
        for module in self.modules():
            for name, buffer in list(module.named_buffers(recurse=False)):
                if hasattr(tables, name):
                    value = torch.from_numpy(getattr(tables, name))
                    if buffer.is_meta:
                        module._buffers[name] = value.to(buffer.dtype)
                    else:
                        buffer.copy_(value)

    def language_model_states(self, aatype: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Weighted sum of ESM-2 hidden states ``[B, L, D]`` for residues ``aatype`` ``[B, L]``."""
        esm = self.config.esm
        tokens = self.af2_to_esm[(aatype + 1).masked_fill(~mask, 0)]
        bos = tokens.new_full((tokens.shape[0], 1), esm.token_id("<cls>"))
        pad = tokens.new_full((tokens.shape[0], 1), esm.token_id("<pad>"))
        tokens = torch.cat([bos, tokens, pad], dim=1)
        # <eos> right after each sequence's last residue.
        tokens[torch.arange(tokens.shape[0]), mask.sum(1) + 1] = esm.token_id("<eos>")
        # [B, L+2, layers+1, D] -> drop <cls> and the last column -> [B, L, layers+1, D]
        states = self.esm(tokens)[:, 1:-1].to(self.esm_s_combine.dtype)
        # Softmax-weighted sum over layers: [layers+1] @ [B, L, layers+1, D] -> [B, L, D]
        return (self.esm_s_combine.softmax(0).unsqueeze(0) @ states).squeeze(2)

    def forward(
        self,
        aatype: torch.Tensor,
        mask: torch.Tensor,
        residue_index: torch.Tensor,
        num_recycles: int | None = None,
        chunk_size: int | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> FoldingOutput:
        """Fold a padded batch.

        Args:
            aatype: ``[B, L]`` residue types (0–20).  mask: ``[B, L]`` bool, False on padding.
            residue_index: ``[B, L]`` int64 positions (chains offset, see :mod:`remyfold.sequence`).
            num_recycles: recycling iterations after the first pass (reference's ``num_recycles``);
                ``None``: the reference's default, ``config.trunk.max_recycles`` passes in all.
            chunk_size: rows per chunk in the pair-state operations (None: no chunking).
            progress: called with the name of each stage as it starts (``"language model"``,
                ``"trunk pass k of n"``, ``"structure module k of n"``).
        """
        if num_recycles is None:
            num_recycles = self.config.trunk.default_num_recycles
        if progress is not None:
            progress("language model")
        s0 = self.esm_s_mlp(self.language_model_states(aatype, mask))
        if self.config.embed_aa:
            s0 = s0 + self.embedding(aatype)
        _, z, structure = self.trunk(s0, residue_index, mask, aatype, num_recycles, chunk_size, progress)
        atom14 = structure["positions"][-1].float()
        atom37_mask = self.atom37_mask[aatype] * mask.unsqueeze(-1)
        # Gather atom14 slots into atom37 order: [B, L, 37, 3]
        idx = self.atom37_to_atom14[aatype]
        atom37 = torch.gather(atom14, 2, idx[..., None].expand(*idx.shape, 3)) * atom37_mask[..., None]
        head = self.ptm_head.weight.dtype  # fp32 also when the trunk runs in bf16
        # [B, L, L, C_z] -> [B, L, L, 64], a block of rows at a time (no full copy of z in fp32)
        pae_logits = chunked(lambda rows: self.ptm_head(rows.to(head)), chunk_size, 1, z)
        distogram_logits = chunked(lambda rows: self.distogram_head(rows.to(head)), chunk_size, 1, z)
        # [B, L, L, 64]: symmetrise over the residue pair, as ESMFold does
        distogram_logits = (distogram_logits + distogram_logits.transpose(1, 2)) / 2
        plddt = plddt_from_logits(self.lddt_head(structure["states"][-1].to(head)))
        return FoldingOutput(
            atom14=atom14,
            atom37=atom37,
            atom37_mask=atom37_mask,
            plddt=plddt,
            pae=predicted_aligned_error(pae_logits),
            pae_logits=pae_logits,
            distogram_logits=distogram_logits,
        )
