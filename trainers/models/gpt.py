"""``gpt``: a causal Llama-style decoder (RMSNorm, RoPE, SwiGLU, SDPA attention).

Parameter names follow ``LlamaForCausalLM`` except the fused ``qkv`` projection, which the export
splits into ``q_proj``/``k_proj``/``v_proj``; so the exported model loads with
``AutoModelForCausalLM`` and gives the same logits.
"""

# ruff: noqa: N806, N812  (nanoGPT house style: B, T, C shape names and F = functional)

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainers.models.layers import (
    ModelArgs,
    RMSNorm,
    SwiGLU,
    apply_rope,
    attention_mask_for,
    init_weights,
    positions_for,
    rope,
)


class Attention(nn.Module):
    def __init__(self, args: ModelArgs):
        super().__init__()
        self.n_head, self.dropout = args.n_head, args.dropout
        self.qkv = nn.Linear(args.d_model, 3 * args.d_model, bias=False)
        self.o_proj = nn.Linear(args.d_model, args.d_model, bias=False)

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_head, C // self.n_head).permute(2, 0, 3, 1, 4)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)  # (B, H, T, hd)
        y = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=mask,
            is_causal=mask is None,
            dropout_p=self.dropout if self.training else 0.0,
        )
        return self.o_proj(y.transpose(1, 2).reshape(B, T, C))  # (B, T, C)


class Block(nn.Module):
    def __init__(self, args: ModelArgs):
        super().__init__()
        self.input_layernorm = RMSNorm(args.d_model)
        self.self_attn = Attention(args)
        self.post_attention_layernorm = RMSNorm(args.d_model)
        self.mlp = SwiGLU(args.d_model, args.d_ff)
        self.drop = nn.Dropout(args.dropout)

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        x = x + self.drop(self.self_attn(self.input_layernorm(x), cos, sin, mask))
        return x + self.drop(self.mlp(self.post_attention_layernorm(x)))


class GPT(nn.Module):
    """Causal LM: ``logits[:, t]`` predicts token ``t + 1``."""

    objective = "causal"

    def __init__(self, args: ModelArgs):
        super().__init__()
        self.args = args
        self.embed_tokens = nn.Embedding(args.vocab_size, args.d_model)
        self.layers = nn.ModuleList(Block(args) for _ in range(args.n_layer))
        self.norm = RMSNorm(args.d_model)
        self.lm_head = nn.Linear(args.d_model, args.vocab_size, bias=False)
        init_weights(self, args.n_layer)
        if args.tie_embeddings:
            self.lm_head.weight = self.embed_tokens.weight

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        *,
        doc_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits (B, T, V) for ids (B, T); ``attention_mask`` (B, T) marks real tokens (1).

        ``doc_ids`` (B, T) confines attention to each document and restarts positions there.
        """
        return self.lm_head(self.features(input_ids, attention_mask, doc_ids=doc_ids))

    def features(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        *,
        doc_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The final hidden states (B, T, C) that ``lm_head`` turns into logits."""
        T = input_ids.shape[1]
        positions = positions_for(input_ids, attention_mask, doc_ids)  # (B, T)
        cos, sin = rope(positions, self.args.d_model // self.args.n_head, self.args.rope_theta)
        mask = attention_mask_for(T, attention_mask, doc_ids, True, input_ids.device)
        x = self.embed_tokens(input_ids)  # (B, T, C)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.norm(x)  # (B, T, C)
