"""Training objectives: turn a batch of blocks (B, T+1) into model inputs and targets.

- causal (``gpt``): inputs = block[:, :-1], targets = block[:, 1:]; a target that starts the next
  document (``<s>``) is ignored, so no prediction crosses a document boundary.
- masked (``ltgbert``): span masking of ≈ ``mask_rate`` of the tokens (spans of 1..``mask_span``,
  80% ``<mask>`` / 10% random / 10% unchanged, special tokens never masked); targets at the
  masked positions.
- hybrid (``gptbert``): per sequence, causal or masked next-token prediction ("mntp": a token
  masked at ``i`` is predicted at ``i - 1``). Sequence ``n`` of the run is causal iff
  ``floor((n+1)·f) > floor(n·f)`` for ``f = causal_fraction``: an exact ratio with no randomness.

Masking draws from a CPU ``torch.Generator`` that the checkpoint saves, so resume is exact.
"""

# ruff: noqa: N806, N812  (nanoGPT house style: B, T, C shape names and F = functional)

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from trainers.tokenizer import BOS, MASK, SPECIALS

IGNORE = -100


@dataclass(frozen=True)
class Batch:
    inputs: torch.Tensor  # (B, T) token ids
    targets: torch.Tensor  # (B, T) ids or IGNORE
    causal: torch.Tensor | None = None  # (B,) bool, hybrid only


def causal_targets(blocks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) for next-token prediction; targets equal to ``<s>`` are ignored."""
    inputs, targets = blocks[:, :-1], blocks[:, 1:].clone()
    targets[targets == BOS] = IGNORE
    return inputs, targets


def mask_tokens(
    ids: torch.Tensor, rate: float, span: int, n_vocab: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(corrupted ids, boolean mask of the positions to predict), both (B, T)."""
    B, T = ids.shape
    mean_span = (1 + span) / 2
    starts = torch.rand(B, T, generator=gen) < rate / mean_span
    lengths = torch.randint(1, span + 1, (B, T), generator=gen)
    mask = torch.zeros(B, T, dtype=torch.bool)
    for j in range(span):  # extend every span start over its length
        mask[:, j:] |= (starts & (lengths > j))[:, : T - j]
    mask &= ids >= len(SPECIALS)
    action = torch.rand(B, T, generator=gen)
    random_ids = torch.randint(
        len(SPECIALS), max(n_vocab, len(SPECIALS) + 1), (B, T), generator=gen
    )
    corrupted = torch.where(mask & (action < 0.8), MASK, ids)
    corrupted = torch.where(mask & (action >= 0.8) & (action < 0.9), random_ids, corrupted)
    return corrupted, mask


def make_batch(
    blocks: torch.Tensor,
    objective: str,
    *,
    first_sample: int,
    causal_fraction: float,
    mask_rate: float,
    mask_span: int,
    n_vocab: int,
    gen: torch.Generator,
) -> Batch:
    """Inputs and targets for one micro-batch of blocks (B, T+1) (CPU tensors)."""
    inputs, next_targets = causal_targets(blocks)
    if objective == "causal":
        return Batch(inputs, next_targets)
    corrupted, mask = mask_tokens(inputs, mask_rate, mask_span, n_vocab, gen)
    if objective == "masked":
        return Batch(corrupted, torch.where(mask, inputs, IGNORE))
    # hybrid: masked token i is predicted at i - 1 (the last position predicts nothing).
    shifted = torch.where(mask, inputs, IGNORE)[:, 1:]
    mntp_targets = F.pad(shifted, (0, 1), value=IGNORE)
    n = torch.arange(first_sample, first_sample + len(blocks), dtype=torch.float64)
    causal = torch.floor((n + 1) * causal_fraction) > torch.floor(n * causal_fraction)
    targets = torch.where(causal[:, None], next_targets, mntp_targets)
    return Batch(torch.where(causal[:, None], inputs, corrupted), targets, causal)


def summed_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Sum of cross-entropies in fp32 over the non-ignored targets."""
    flat = logits.float().view(-1, logits.shape[-1])  # (B·T, V)
    return F.cross_entropy(flat, targets.reshape(-1), ignore_index=IGNORE, reduction="sum")
