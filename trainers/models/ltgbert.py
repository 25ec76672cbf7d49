"""``ltgbert`` (masked LM) and ``gptbert`` (hybrid causal + masked) on one LTG-BERT-style encoder.

The encoder follows LTG-BERT (Samuel et al. 2023) in compact form: no absolute positions but
DeBERTa-style disentangled attention over relative distances, clipped or in log buckets
(``rel_buckets``): content·content + content·position + position·content, scaled by
1/sqrt(3·head_dim); NormFormer-style extra LayerNorms, GEGLU feed-forward layers, and a tied
output head.

Reading the predictions:
- ``LTGBERT``: bidirectional; ``logits[:, i]`` predicts the (masked) token at position ``i``.
- ``GPTBERT`` (the 2024 BabyLM winner's recipe): ``logits[:, i - 1]`` always predicts token ``i``.
  ``model(ids)`` is causal (like ``gpt``); ``model(ids, causal=False)`` is bidirectional, for
  masked next-token prediction ("mntp"): put ``tokenizer.mask_token_id`` at ``i``, read ``i - 1``.
"""

# ruff: noqa: N803, N806, N812  (nanoGPT house style: B, T, C shape names and F = functional)

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

# Relative on purpose: an encoder export copies this file and layers.py next to its weights
# (see hf_encoder.py), where the package is not `trainers`.
from .layers import GEGLU, ModelArgs, attention_mask_for, init_weights


@functools.lru_cache(maxsize=16)
def log_buckets(R: int, max_distance: int) -> tuple[int, ...]:
    """Bucket of each distance 0..max_distance, DeBERTa-v2 / LTG-BERT style, in [0, R].

    Distances up to ``mid = (R + 1) // 2`` keep their own bucket; longer ones share buckets that
    widen logarithmically, ``max_distance`` landing on ``2·mid - 1`` (= R for odd R). Computed
    with Python floats, so every device gets the same table.
    """
    mid = (R + 1) // 2
    if max_distance <= mid:
        return tuple(range(max_distance + 1))
    scale = (mid - 1) / math.log(max_distance / mid)
    return tuple(
        d if d <= mid else mid + math.ceil(math.log(d / mid) * scale)
        for d in range(max_distance + 1)
    )


def relative_index(
    T: int, R: int, buckets: str, block_size: int, device: torch.device
) -> torch.Tensor:
    """(1, 1, T, T) row of the 2R+1 relative embeddings for query i and key j (distance j - i).

    ``clip``: the distance clamped to ±R. ``log``: :func:`log_buckets` up to ``block_size - 1``
    (beyond it, the last bucket).
    """
    arange = torch.arange(T, device=device)
    rel = arange[None, :] - arange[:, None]  # (T, T)
    if buckets == "log":
        max_distance = max(block_size, T) - 1
        table = torch.tensor(log_buckets(R, max_distance), device=device)
        rel = rel.sign() * table[rel.abs()]
    return (rel.clamp(-R, R) + R)[None, None]


class RelativeAttention(nn.Module):
    def __init__(self, args: ModelArgs):
        super().__init__()
        self.n_head, self.dropout = args.n_head, args.dropout
        self.qkv = nn.Linear(args.d_model, 3 * args.d_model, bias=True)
        self.pos_qk = nn.Linear(args.d_model, 2 * args.d_model, bias=True)
        self.pre_norm = nn.LayerNorm(args.d_model, elementwise_affine=False)
        self.post_norm = nn.LayerNorm(args.d_model)
        self.out = nn.Linear(args.d_model, args.d_model, bias=False)

    def forward(
        self, x: torch.Tensor, rel: torch.Tensor, idx: torch.Tensor, allowed: torch.Tensor
    ) -> torch.Tensor:
        B, T, C = x.shape
        H, hd = self.n_head, C // self.n_head
        q, k, v = self.qkv(self.pre_norm(x)).view(B, T, 3, H, hd).permute(2, 0, 3, 1, 4)
        pq, pk = self.pos_qk(rel).view(-1, 2, H, hd).permute(1, 2, 0, 3)  # (H, 2R+1, hd) each
        scale = (3 * hd) ** -0.5
        index = idx.expand(B, H, T, T)
        c2p = (q @ pk.transpose(-1, -2)).gather(-1, index)  # [i, j] = q_i · pk[rel(i→j)]
        p2c = (k @ pq.transpose(-1, -2)).gather(-1, index).transpose(-1, -2)  # k_j · pq[rel(j→i)]
        bias = ((c2p + p2c) * scale).masked_fill(~allowed, float("-inf"))  # (B, H, T, T)
        y = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=bias.to(q.dtype),
            scale=scale,
            dropout_p=self.dropout if self.training else 0.0,
        )
        return self.out(self.post_norm(y.transpose(1, 2).reshape(B, T, C)))  # (B, T, C)


class EncoderLayer(nn.Module):
    def __init__(self, args: ModelArgs):
        super().__init__()
        self.attn = RelativeAttention(args)
        self.ffn = GEGLU(args.d_model, args.d_ff, args.dropout)
        self.drop = nn.Dropout(args.dropout)

    def forward(
        self, x: torch.Tensor, rel: torch.Tensor, idx: torch.Tensor, allowed: torch.Tensor
    ) -> torch.Tensor:
        x = x + self.drop(self.attn(x, rel, idx, allowed))
        return x + self.ffn(x)


class Encoder(nn.Module):
    """Embeddings → relative-attention layers → MLM head; ``causal`` picks the attention shape."""

    objective = "masked"

    def __init__(self, args: ModelArgs):
        super().__init__()
        self.args = args
        R = args.rel_positions
        self.embed_tokens = nn.Embedding(args.vocab_size, args.d_model)
        self.embed_norm = nn.LayerNorm(args.d_model)
        self.rel_embedding = nn.Parameter(torch.empty(2 * R + 1, args.d_model))
        self.rel_norm = nn.LayerNorm(args.d_model)
        self.layers = nn.ModuleList(EncoderLayer(args) for _ in range(args.n_layer))
        self.head = nn.Sequential(
            nn.LayerNorm(args.d_model, elementwise_affine=False),
            nn.Linear(args.d_model, args.d_model),
            nn.GELU(),
            nn.LayerNorm(args.d_model, elementwise_affine=False),
        )
        self.lm_head = nn.Linear(args.d_model, args.vocab_size, bias=True)
        init_weights(self, args.n_layer)
        nn.init.zeros_(self.lm_head.bias)
        if args.tie_embeddings:
            self.lm_head.weight = self.embed_tokens.weight

    def encode(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None,
        doc_ids: torch.Tensor | None,
        causal: bool | torch.Tensor,
    ) -> torch.Tensor:
        T, device = input_ids.shape[1], input_ids.device
        args = self.args
        idx = relative_index(T, args.rel_positions, args.rel_buckets, args.block_size, device)
        allowed = attention_mask_for(T, attention_mask, doc_ids, causal, device)
        if allowed is None:  # plain full or causal attention
            allowed = torch.ones(T, T, dtype=torch.bool, device=device)
            allowed = (allowed.tril() if causal else allowed)[None, None]
        rel = self.rel_norm(self.rel_embedding)  # (2R+1, C)
        x = self.embed_norm(self.embed_tokens(input_ids))  # (B, T, C)
        for layer in self.layers:
            x = layer(x, rel, idx, allowed)
        return self.head(x)  # (B, T, C): the hidden states `lm_head` reads


class LTGBERT(Encoder):
    """Masked LM: bidirectional; ``logits[:, i]`` predicts the token at ``i``."""

    objective = "masked"

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        *,
        doc_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.lm_head(self.features(input_ids, attention_mask, doc_ids=doc_ids))

    def features(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        *,
        doc_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The final hidden states (B, T, C) that ``lm_head`` turns into logits."""
        return self.encode(input_ids, attention_mask, doc_ids, False)


class GPTBERT(Encoder):
    """Hybrid LM: ``logits[:, i - 1]`` predicts token ``i``; causal unless ``causal=False``."""

    objective = "hybrid"

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        *,
        doc_ids: torch.Tensor | None = None,
        causal: bool | torch.Tensor = True,
    ) -> torch.Tensor:
        """``causal`` may be a (B,) bool tensor: training mixes both objectives in one batch."""
        return self.lm_head(
            self.features(input_ids, attention_mask, doc_ids=doc_ids, causal=causal)
        )

    def features(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        *,
        doc_ids: torch.Tensor | None = None,
        causal: bool | torch.Tensor = True,
    ) -> torch.Tensor:
        """The final hidden states (B, T, C) that ``lm_head`` turns into logits."""
        return self.encode(input_ids, attention_mask, doc_ids, causal)
