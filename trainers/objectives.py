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

The loss is a sum of fp32 cross-entropies: :func:`summed_loss` over the whole (B, T, V) logits, or
:func:`chunked_summed_loss`, the same sum from the final hidden states a chunk of tokens at a time
(``loss_chunk_tokens``), which never holds more than one chunk's logits.
"""

# ruff: noqa: N806, N812  (nanoGPT house style: B, T, C shape names and F = functional)

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from trainers.tokenizer import BOS, MASK, PAD, SPECIALS

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


def pad_batch(batch: Batch, rows: int) -> Batch:
    """``batch`` grown to ``rows`` sequences of ``<pad>`` whose targets are all ignored.

    The padding adds nothing to the summed loss; it gives a static-shape compiled graph (CUDA
    graphs) the one shape it was captured for when the last validation batch is partial.
    """
    missing = rows - len(batch.inputs)
    if missing <= 0:
        return batch

    def grow(t: torch.Tensor, value: int | bool) -> torch.Tensor:
        return torch.cat([t, t.new_full((missing, *t.shape[1:]), value)])

    causal = None if batch.causal is None else grow(batch.causal, True)
    return Batch(grow(batch.inputs, PAD), grow(batch.targets, IGNORE), causal)


def summed_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Sum of cross-entropies in fp32 (fp64 for fp64 logits) over the non-ignored targets."""
    wide = logits.to(torch.promote_types(logits.dtype, torch.float32))  # bf16 → fp32
    flat = wide.view(-1, logits.shape[-1])  # (B·T, V)
    return F.cross_entropy(flat, targets.reshape(-1), ignore_index=IGNORE, reduction="sum")


def model_summed_loss(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    chunk_tokens: int = 0,
    **kwargs: Any,
) -> torch.Tensor:
    """The summed loss of ``model`` on (inputs, targets); chunked when ``chunk_tokens`` > 0."""
    if not chunk_tokens:
        return summed_loss(model(inputs, **kwargs), targets)  # logits (B, T, V)
    features = cast(Callable[..., torch.Tensor], model.features)
    head = cast(nn.Linear, model.lm_head)
    return chunked_summed_loss(features(inputs, **kwargs), head, targets, chunk_tokens)


def chunked_summed_loss(
    hidden: torch.Tensor, head: nn.Linear, targets: torch.Tensor, chunk_tokens: int
) -> torch.Tensor:
    """``summed_loss(head(hidden), targets)`` computed ``chunk_tokens`` tokens at a time.

    Each chunk's logits are made, reduced to a loss and dropped; with gradients on, backward
    recomputes them (activation checkpointing), so the peak holds one chunk's (chunk, V) logits
    instead of all (B·T, V) for the price of one more pass of the output matmul. Equal to the
    one-pass loss up to float summation order.
    """
    flat = hidden.reshape(-1, hidden.shape[-1])  # (B·T, C)
    flat_targets = targets.reshape(-1)
    parts = []
    for start in range(0, flat.shape[0], chunk_tokens):
        rows = slice(start, start + chunk_tokens)
        if torch.is_grad_enabled():
            # The chunk computes no random numbers: saving and restoring RNG states is waste.
            part = checkpoint(
                _chunk_loss,
                flat[rows],
                head.weight,
                head.bias,
                flat_targets[rows],
                use_reentrant=False,
                preserve_rng_state=False,
            )
        else:
            part = _chunk_loss(flat[rows], head.weight, head.bias, flat_targets[rows])
        parts.append(part)
    return torch.stack(parts).sum()


def _chunk_loss(
    hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, targets: torch.Tensor
) -> torch.Tensor:
    return summed_loss(F.linear(hidden, weight, bias), targets)  # logits (chunk, V)
