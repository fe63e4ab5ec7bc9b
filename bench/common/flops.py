"""Analytic matmul FLOP count of one ESMFold prediction (remyfold's network, batch of one).

Every dense product counts ``2·m·n·k`` FLOPs (one multiply and one add per
term); element-wise work (LayerNorm, softmax, gating, rotary embeddings, the
3×3 frame algebra of the structure module) is left out, so the count is a
lower bound on the arithmetic and ``count / matmul rate`` is a floor on the time.

Components, for ``L`` residues:

* ``lm``: ESM-2 on ``L + 2`` tokens (``<cls>``, ``<eos>``), the softmax-weighted
  layer combination and the ``esm_s_mlp`` adapter into the trunk — once per prediction.
* ``trunk_per_recycle``: one pass of the block stack; it grows as ``L³·C_z``
  (triangular multiplication and triangular attention) plus ``L²·C_z²`` projections.
* ``structure_module_per_recycle``: the trunk→structure-module projections and
  ``num_blocks`` iterations of IPA, transition, frame update and angle ResNet.
* ``heads``: pTM/PAE, distogram and pLDDT heads, once.

``total = lm + (recycles + 1)·(trunk_per_recycle + structure_module_per_recycle) + heads``.
"""

from __future__ import annotations

from remyfold.model.config import EsmConfig, FoldingConfig, StructureModuleConfig, TrunkConfig
from remyfold.model.heads import LDDT_BINS, PAE_BINS

ATOM37 = 37


def language_model_flops(esm: EsmConfig, tokens: int) -> int:
    """ESM-2 encoder on ``tokens`` tokens: per layer Q/K/V/out projections, ``QKᵀ`` and ``AV``, the GELU FFN."""
    t, d, f = tokens, esm.hidden_size, esm.intermediate_size
    projections = 4 * 2 * t * d * d
    attention = 2 * (2 * t * t * d)  # logits and weighted values, all heads together
    ffn = 2 * (2 * t * d * f)
    return esm.num_layers * (projections + attention + ffn)


def lm_adapter_flops(config: FoldingConfig, length: int) -> int:
    """Layer combination ``[layers+1] @ [L, layers+1, D]`` and the two-layer ``esm_s_mlp`` into ``C_s``."""
    d, c_s = config.esm.hidden_size, config.trunk.sequence_state_dim
    return 2 * length * (config.esm.num_layers + 1) * d + 2 * length * d * c_s + 2 * length * c_s * c_s


def sequence_track_flops(trunk: TrunkConfig, length: int) -> int:
    """One block's sequence-state work: pair bias, gated sequence attention, sequence MLP, ``s → (q, k)``."""
    n, s, z = length, trunk.sequence_state_dim, trunk.pairwise_state_dim
    heads = s // trunk.sequence_head_width
    pair_bias = 2 * n * n * z * heads
    attention = 2 * n * s * 3 * s + 2 * (2 * n * n * s) + 2 * (2 * n * s * s)  # qkv; QKᵀ, AV; gate, out
    mlp = 2 * (2 * n * s * 4 * s)
    to_pair = 2 * n * s * z  # projection to q, k of width C_z/2 each
    return pair_bias + attention + mlp + to_pair


def pair_track_flops(trunk: TrunkConfig, length: int) -> int:
    """One block's pair-state work (per term, ``n = L``, ``c = C_z``).

    * sequence→pair output projection: ``2n²c²``
    * two triangular multiplications: six ``c×c`` linears each (``12n²c²``) and the
      ``Σ_k a_ik b_jk`` contraction ``2n³c``
    * two triangular attentions: bias ``2n²cH``, q/k/v/gate/out ``10n²c²``, ``QKᵀ`` and ``AV`` ``4n³c``
    * pair transition (4× wide): ``16n²c²``
    """
    n, c = length, trunk.pairwise_state_dim
    heads = c // trunk.pairwise_head_width
    seq_to_pair = 2 * n * n * c * c
    tri_mul = 2 * (12 * n * n * c * c + 2 * n**3 * c)
    tri_att = 2 * (2 * n * n * c * heads + 10 * n * n * c * c + 4 * n**3 * c)
    transition = 2 * (2 * n * n * c * 4 * c)
    return seq_to_pair + tri_mul + tri_att + transition


def trunk_flops_per_recycle(trunk: TrunkConfig, length: int) -> int:
    """One pass of the trunk's block stack."""
    return trunk.num_blocks * (sequence_track_flops(trunk, length) + pair_track_flops(trunk, length))


def ipa_flops(sm: StructureModuleConfig, length: int) -> int:
    """Invariant point attention (AlphaFold 2 Algorithm 22) for ``L`` residues."""
    n, c, cz, h, ch = length, sm.sequence_dim, sm.pairwise_dim, sm.num_heads_ipa, sm.ipa_dim
    pq, pv = sm.num_qk_points, sm.num_v_points
    projections = 2 * n * c * (3 * h * ch + 3 * h * pq + 3 * h * (pq + pv))  # q, kv, q points, kv points
    pair_bias = 2 * n * n * cz * h
    attention = 2 * (2 * n * n * h * ch) + 2 * n * n * h * pv * 3 + 2 * n * n * h * cz  # QKᵀ, AV; points; pair
    point_term = 2 * n * n * h * pq * 3  # the query·key point products of the matmul-form distance term
    out = 2 * n * h * (cz + ch + 4 * pv) * c
    return projections + pair_bias + attention + point_term + out


def structure_module_flops_per_recycle(config: FoldingConfig, length: int) -> int:
    """Trunk→SM projections, input linear, then ``num_blocks`` × (IPA, transition, frame update, angle ResNet)."""
    trunk, sm, n = config.trunk, config.trunk.structure_module, length
    c, r = sm.sequence_dim, sm.resnet_dim
    projections = 2 * n * trunk.sequence_state_dim * c + 2 * n * n * trunk.pairwise_state_dim * sm.pairwise_dim
    transition = sm.num_transition_layers * 3 * (2 * n * c * c)
    frame_update = 2 * n * c * 6
    angles = 2 * (2 * n * c * r) + sm.num_resnet_blocks * 2 * (2 * n * r * r) + 2 * n * r * 2 * sm.num_angles
    per_block = ipa_flops(sm, n) + transition + frame_update + angles
    return projections + 2 * n * c * c + sm.num_blocks * per_block


def heads_flops(config: FoldingConfig, length: int) -> int:
    """pTM/PAE logits and expected error, distogram logits (``L²``), pLDDT head and its expectation (``L``)."""
    n, z, h = length, config.trunk.pairwise_state_dim, config.lddt_head_hid_dim
    c = config.trunk.structure_module.sequence_dim
    pae = 2 * n * n * z * PAE_BINS + 2 * n * n * PAE_BINS
    distogram = 2 * n * n * z * PAE_BINS  # 64 distance bins (as many as PAE): the contact probabilities of actifpTM
    plddt = 2 * n * (c * h + h * h + h * ATOM37 * LDDT_BINS) + 2 * n * ATOM37 * LDDT_BINS
    return pae + distogram + plddt


def prediction_flops(config: FoldingConfig, length: int, recycles: int) -> dict[str, int]:
    """FLOPs of one prediction of ``length`` residues with ``recycles`` recycles, per component and in total."""
    lm = language_model_flops(config.esm, length + 2) + lm_adapter_flops(config, length)
    trunk = trunk_flops_per_recycle(config.trunk, length)
    sm = structure_module_flops_per_recycle(config, length)
    heads = heads_flops(config, length)
    passes = recycles + 1
    return {
        "lm": lm,
        "trunk_per_recycle": trunk,
        "structure_module_per_recycle": sm,
        "heads": heads,
        "passes": passes,
        "total": lm + passes * (trunk + sm) + heads,
    }


def floor_seconds(flops: dict[str, int], lm_tflops: float, rest_tflops: float) -> float:
    """Time the FLOPs take at the measured matmul rates (TFLOP/s): the LM at one rate, the rest at another."""
    rest = flops["total"] - flops["lm"]
    return flops["lm"] / (lm_tflops * 1e12) + rest / (rest_tflops * 1e12)
