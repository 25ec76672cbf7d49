"""Building blocks shared by the models: norms, rotary embeddings, masks, feed-forward layers."""

# ruff: noqa: N803, N806, N812  (nanoGPT house style: B, T, C shape names and F = functional)

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ModelArgs:
    """The shape of a model (a subset of TrainConfig, saved with every export)."""

    arch: str
    vocab_size: int
    n_layer: int
    n_head: int
    d_model: int
    d_ff: int
    block_size: int
    dropout: float = 0.0
    rope_theta: float = 10_000.0
    rel_positions: int = 32
    tie_embeddings: bool = True
    rel_buckets: str = "clip"  # or "log" (ltgbert.relative_index); exports before it: clip

    @classmethod
    def from_config(cls, config: Any) -> ModelArgs:
        return cls(
            arch=config.arch,
            vocab_size=config.vocab_size,
            n_layer=config.n_layer,
            n_head=config.n_head,
            d_model=config.d_model,
            d_ff=config.ffn_size,
            block_size=config.block_size,
            dropout=config.dropout,
            rope_theta=config.rope_theta,
            rel_positions=config.rel_positions,
            tie_embeddings=config.tie_embeddings,
            rel_buckets=config.rel_buckets,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RMSNorm(nn.Module):
    """Llama's RMSNorm: normalise in fp32, scale by a learned weight."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rope(positions: torch.Tensor, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin of shape (B, 1, T, head_dim) for integer positions (B, T) (Llama's layout)."""
    exponent = torch.arange(0, head_dim, 2, dtype=torch.int64, device=positions.device).float()
    inv_freq = 1.0 / (theta ** (exponent / head_dim))  # (hd/2,)
    freqs = positions[..., None].float() * inv_freq  # (B, T, hd/2)
    emb = torch.cat([freqs, freqs], dim=-1)[:, None]  # (B, 1, T, hd)
    return emb.cos(), emb.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate (B, H, T, hd) by the position angles (the "rotate half" convention)."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return (x * cos.to(x.dtype)) + (rotated * sin.to(x.dtype))


def document_ids(input_ids: torch.Tensor, bos: int) -> torch.Tensor:
    """(B, T) index of the document each token belongs to (a new one starts at every ``<s>``)."""
    return (input_ids == bos).long().cumsum(dim=1)


def positions_for(
    input_ids: torch.Tensor, attention_mask: torch.Tensor | None, doc_ids: torch.Tensor | None
) -> torch.Tensor:
    """(B, T) positions: restart at each document, skip left padding, else 0..T-1."""
    B, T = input_ids.shape
    arange = torch.arange(T, device=input_ids.device).expand(B, T)
    if doc_ids is not None:
        starts = torch.where(doc_ids != F.pad(doc_ids, (1, 0), value=-1)[:, :-1], arange, 0)
        return arange - starts.cummax(dim=1).values
    if attention_mask is not None:
        return (attention_mask.long().cumsum(dim=1) - 1).clamp(min=0)
    return arange


def attention_mask_for(
    T: int,
    attention_mask: torch.Tensor | None,
    doc_ids: torch.Tensor | None,
    causal: bool | torch.Tensor,
    device: torch.device,
) -> torch.Tensor | None:
    """Boolean (B|1, 1, T, T) "may attend" mask, or None when plain (non-)causal SDPA suffices.

    ``causal`` may be a (B,) bool tensor (the hybrid model mixes objectives in one batch).
    The diagonal is always allowed, so padded rows never turn into NaN.
    """
    per_sample = isinstance(causal, torch.Tensor)
    if attention_mask is None and doc_ids is None and not per_sample:
        return None
    allowed = torch.ones(1, 1, T, T, dtype=torch.bool, device=device)
    tril = torch.ones(T, T, dtype=torch.bool, device=device).tril()
    if per_sample:
        allowed = allowed & (tril | ~causal.view(-1, 1, 1, 1))  # type: ignore[union-attr]
    elif causal:
        allowed = allowed & tril
    if doc_ids is not None:
        allowed = allowed & (doc_ids[:, None, :, None] == doc_ids[:, None, None, :])
    if attention_mask is not None:
        allowed = allowed & attention_mask.bool()[:, None, None, :]
    return allowed | torch.eye(T, dtype=torch.bool, device=device)


class SwiGLU(nn.Module):
    """Llama's FFN: down(silu(gate(x)) · up(x)); names match LlamaMLP for a plain export."""

    def __init__(self, d_model: int, d_ff: int):
        super().__init__()
        self.gate_proj = nn.Linear(d_model, d_ff, bias=False)
        self.up_proj = nn.Linear(d_model, d_ff, bias=False)
        self.down_proj = nn.Linear(d_ff, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class GEGLU(nn.Module):
    """LTG-BERT's FFN: LayerNorm, GELU-gated linear unit, LayerNorm, projection (NormFormer)."""

    def __init__(self, d_model: int, d_ff: int, dropout: float):
        super().__init__()
        self.pre_norm = nn.LayerNorm(d_model, elementwise_affine=False)
        self.up = nn.Linear(d_model, 2 * d_ff, bias=False)
        self.mid_norm = nn.LayerNorm(d_ff, elementwise_affine=False)
        self.down = nn.Linear(d_ff, d_model, bias=False)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.up(self.pre_norm(x)).chunk(2, dim=-1)  # (B, T, d_ff) each
        return self.drop(self.down(self.mid_norm(value * F.gelu(gate))))


def init_weights(model: nn.Module, n_layer: int) -> None:
    """GPT-2 init: N(0, 0.02), residual output projections scaled by 1/sqrt(2·n_layer)."""
    for name, p in model.named_parameters():
        if p.dim() < 2:
            continue
        std = (
            0.02 / (2 * n_layer) ** 0.5
            if name.endswith(("o_proj.weight", "down_proj.weight", "out.weight", "down.weight"))
            else 0.02
        )
        nn.init.normal_(p, mean=0.0, std=std)
