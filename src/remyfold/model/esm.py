"""ESM-2 protein language model (Lin et al., Science 2023), inference only.

A pre-LayerNorm transformer encoder with rotary position embeddings (RoPE,
Su et al. 2021) and ESM's token-dropout rescaling of the input embeddings.
ESMFold reads every layer's hidden state (:meth:`EsmLanguageModel.forward`
returns them stacked), so there is no output head here.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from remyfold.model.primitives import AttentionFn, select_attention

# Fraction of tokens masked in ESM training (15 %, of which 80 % became <mask>).
MASK_RATIO_TRAIN = 0.15 * 0.8


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """``[x1, x2] -> [-x2, x1]`` on the last dimension (the RoPE rotation)."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class RotaryEmbedding(nn.Module):
    """Rotary position embedding; ``inv_freq`` is loaded from the checkpoint (it may be fp16-rounded)."""

    def __init__(self, head_dim: int, theta: float = 10000.0):
        super().__init__()
        # Computed on the CPU even when the network is built on the meta device (a few numbers; on
        # meta, arange would run through PyTorch's reference decompositions, which import torch._dynamo).
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32, device="cpu") / head_dim))
        self.register_buffer("inv_freq", inv_freq)

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rotate ``q`` and ``k`` ``[B, H, L, C]`` by position (computed in fp32)."""
        pos = torch.arange(q.shape[-2], device=q.device, dtype=torch.float32)
        # [L, C/2] -> [L, C]
        freqs = torch.outer(pos, self.inv_freq.float())
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().to(q.dtype), emb.sin().to(q.dtype)
        rotate = lambda t: ((t.float() * cos) + (rotate_half(t.float()) * sin)).to(t.dtype)  # noqa: E731
        return rotate(q), rotate(k)


class EsmSelfAttention(nn.Module):
    """Multi-head self-attention with RoPE; queries scaled before rotation, as in ESM."""

    def __init__(self, hidden: int, num_heads: int, attention: AttentionFn):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = hidden // num_heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attention = attention

    def forward(self, x: torch.Tensor, key_bias: torch.Tensor, rotary: RotaryEmbedding) -> torch.Tensor:
        """``x`` ``[B, L, D]``, ``key_bias`` ``[B, 1, 1, L]`` (0 or -inf for padding) → ``[B, L, D]``."""
        # [B, L, D] -> [B, H, L, C]
        split = lambda t: t.view(*t.shape[:2], self.num_heads, self.head_dim).transpose(1, 2)  # noqa: E731
        q = split(self.query(x)) * self.head_dim**-0.5
        k, v = split(self.key(x)), split(self.value(x))
        q, k = rotary(q, k)
        out = self.attention(q, k, v, (key_bias,))
        # [B, H, L, C] -> [B, L, D]
        return out.transpose(1, 2).reshape(x.shape)


class EsmAttentionBlock(nn.Module):
    """Pre-LN attention sub-block: ``x + W_o · attn(LN(x))``."""

    def __init__(self, hidden: int, num_heads: int, eps: float, attention: AttentionFn):
        super().__init__()
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.mha = EsmSelfAttention(hidden, num_heads, attention)
        self.output = nn.ModuleDict({"dense": nn.Linear(hidden, hidden)})

    def forward(self, x: torch.Tensor, key_bias: torch.Tensor, rotary: RotaryEmbedding) -> torch.Tensor:
        return x + self.output["dense"](self.mha(self.LayerNorm(x), key_bias, rotary))


class EsmLayer(nn.Module):
    """One transformer layer: attention block, then pre-LN GELU feed-forward."""

    def __init__(self, hidden: int, num_heads: int, intermediate: int, eps: float, attention: AttentionFn):
        super().__init__()
        self.attention = EsmAttentionBlock(hidden, num_heads, eps, attention)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.intermediate = nn.ModuleDict({"dense": nn.Linear(hidden, intermediate)})
        self.output = nn.ModuleDict({"dense": nn.Linear(intermediate, hidden)})

    def forward(self, x: torch.Tensor, key_bias: torch.Tensor, rotary: RotaryEmbedding) -> torch.Tensor:
        x = self.attention(x, key_bias, rotary)
        # Exact (erf) GELU, as in ESM.
        h = F.gelu(self.intermediate["dense"](self.LayerNorm(x)), approximate="none")
        return x + self.output["dense"](h)


class EsmLanguageModel(nn.Module):
    """ESM-2 encoder returning all hidden states.

    Args:
        vocab_size, hidden, num_layers, num_heads, intermediate: dimensions.
        pad_id, mask_id: token ids of ``<pad>`` and ``<mask>``.
        eps: LayerNorm epsilon.  token_dropout: apply ESM's mask-ratio rescaling.
        emb_layer_norm_before: LayerNorm on the embeddings (ESM-1b style; off for ESM-2).
        rope_theta: RoPE base.  attention: attention implementation.
    """

    def __init__(
        self,
        vocab_size: int,
        hidden: int,
        num_layers: int,
        num_heads: int,
        intermediate: int,
        *,
        pad_id: int,
        mask_id: int,
        eps: float = 1e-5,
        token_dropout: bool = True,
        emb_layer_norm_before: bool = False,
        rope_theta: float = 10000.0,
        attention: str = "plain",
    ):
        super().__init__()
        attn = select_attention(attention)
        self.pad_id, self.mask_id, self.token_dropout = pad_id, mask_id, token_dropout
        self.embeddings = nn.ModuleDict({"word_embeddings": nn.Embedding(vocab_size, hidden, padding_idx=pad_id)})
        if emb_layer_norm_before:
            self.embeddings["layer_norm"] = nn.LayerNorm(hidden, eps=eps)
        self.rotary = RotaryEmbedding(hidden // num_heads, rope_theta)
        layers = [EsmLayer(hidden, num_heads, intermediate, eps, attn) for _ in range(num_layers)]
        self.encoder = nn.ModuleDict(
            {"layer": nn.ModuleList(layers), "emb_layer_norm_after": nn.LayerNorm(hidden, eps=eps)}
        )

    def embed(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Token embeddings ``[B, L, D]`` with token-dropout rescaling and padding zeroed."""
        x = self.embeddings["word_embeddings"](tokens)
        if self.token_dropout:
            is_mask = tokens == self.mask_id
            x = x.masked_fill(is_mask.unsqueeze(-1), 0.0)
            observed = is_mask.sum(-1).float() / mask.sum(-1)
            x = (x * (1 - MASK_RATIO_TRAIN) / (1 - observed)[:, None, None]).to(x.dtype)
        if "layer_norm" in self.embeddings:
            x = self.embeddings["layer_norm"](x)
        return x * mask.unsqueeze(-1).to(x.dtype)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Hidden states of every layer.

        Args:
            tokens: ``[B, L]`` ESM token ids (``<cls>`` ... ``<eos>``, ``<pad>`` after).

        Returns:
            ``[B, L, num_layers + 1, D]``: the embeddings, then each layer's output;
            the last one after the final LayerNorm.
        """
        mask = tokens != self.pad_id
        x = self.embed(tokens, mask)
        # Padding keys get -inf logits: [B, 1, 1, L].
        key_bias = torch.zeros(mask.shape, dtype=x.dtype, device=x.device)
        key_bias = key_bias.masked_fill(~mask, -math.inf)[:, None, None, :]
        states = [x]
        for layer in self.encoder["layer"]:
            x = layer(x, key_bias, self.rotary)
            states.append(x)
        states[-1] = self.encoder["emb_layer_norm_after"](x)
        return torch.stack(states, dim=2)
