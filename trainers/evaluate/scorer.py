"""Minimal-pair scoring: per-token log-probabilities of sentences, reduced to one score each.

Three ways to read a sentence's probability out of a model (``mode``):

- ``causal``: sum of log P(w_t | w_<t) over the sentence, conditioned on a BOS token (the
  tokenizer's own, else end-of-text), as lm-evaluation-harness and minicons do.
- ``masked``: pseudo-log-likelihood (Salazar et al. 2020): one copy per token with that token
  masked; special tokens are never masked. All copies of all sentences are batched together.
- ``mntp``: GPT-BERT's masked next-token prediction: mask token i, read the prediction at i-1.

Log-softmax runs in float32 or float64 whatever the model's dtype (bf16 scores create ties).
Rows are sorted by length and packed up to a token budget, so padding stays small; and when the
model exposes its output Linear, only the positions that are read go through it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from trainers.evaluate.models import ScoringModel

Mode = Literal["auto", "causal", "masked", "mntp"]
DEFAULT_MODE = {"causal": "causal", "masked": "masked", "hybrid": "mntp"}


@dataclass(frozen=True)
class Encoded:
    """Token ids of one text and, per position, whether its log-probability counts."""

    ids: tuple[int, ...]
    scored: tuple[bool, ...]


@dataclass(frozen=True)
class Row:
    """One model input: ids (maybe with a mask), positions read, and the original ids."""

    owner: int
    ids: tuple[int, ...]
    scored: tuple[bool, ...]
    original: tuple[int, ...]


@dataclass(frozen=True)
class PairScores:
    """Scores of the good and bad sentence of each pair; ties are errors, counted apart."""

    good: np.ndarray
    bad: np.ndarray

    @property
    def correct(self) -> np.ndarray:
        return self.good > self.bad  # strict: a tie never counts in favour of the good sentence

    @property
    def ties(self) -> np.ndarray:
        return self.good == self.bad


class MinimalPairScorer:
    """Scores sentences (optionally after a context) with a :class:`ScoringModel`.

    Args:
        model: what to score with.
        mode: causal | masked | mntp; ``auto`` follows the model's objective (hybrid → mntp).
        reduction: ``sum`` of token log-probs, or their ``mean``.
        precision: dtype of the log-softmax, ``float32`` or ``float64``.
        batch_tokens: most (rows × padded length) tokens in one forward pass.
        max_batch: most rows in one forward pass.
    """

    def __init__(
        self,
        model: ScoringModel,
        *,
        mode: Mode = "auto",
        reduction: Literal["sum", "mean"] = "sum",
        precision: Literal["float32", "float64"] = "float32",
        batch_tokens: int = 8192,
        max_batch: int = 512,
    ):
        self.model = model
        self.mode = DEFAULT_MODE[model.objective] if mode == "auto" else mode
        if self.mode == "mntp" and model.objective != "hybrid":
            raise ValueError("mode 'mntp' needs a hybrid (gptbert) model")
        if self.mode == "masked" and model.tokenizer.mask_token_id is None:
            raise ValueError(f"{model.name}: masked scoring needs a tokenizer with a mask token")
        self.reduction = reduction
        self.dtype = {"float32": torch.float32, "float64": torch.float64}[precision]
        self.batch_tokens, self.max_batch = batch_tokens, max_batch

    # ---- encoding -------------------------------------------------------------------------
    def encode(self, text: str, prefix: str | None = None) -> Encoded:
        """Ids with the tokenizer's specials; with ``prefix``, only the text's tokens count."""
        tok = self.model.tokenizer
        full = text if prefix is None else f"{prefix} {text}"
        enc = tok(
            full,
            add_special_tokens=True,
            return_special_tokens_mask=True,
            return_offsets_mapping=prefix is not None,
        )
        ids, special = list(enc["input_ids"]), list(enc["special_tokens_mask"])
        offsets = list(enc["offset_mapping"]) if prefix is not None else [(1, 1)] * len(ids)
        if self.mode == "causal" and (not ids or ids[0] != self._bos()):
            ids, special, offsets = [self._bos(), *ids], [1, *special], [(0, 0), *offsets]
        # A target token ends after the prefix (byte-level BPE folds the joining space into it).
        end = 0 if prefix is None else len(prefix)
        first = 0 if self.mode == "masked" else 1  # causal and mntp read position i-1
        scored = tuple(
            i >= first and not special[i] and (prefix is None or offsets[i][1] > end)
            for i in range(len(ids))
        )
        return Encoded(tuple(ids), scored)

    def _bos(self) -> int:
        tok = self.model.tokenizer
        bos = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        if bos is None:
            raise ValueError(f"{self.model.name}: causal scoring needs a BOS or EOS token")
        return int(bos)

    # ---- scoring --------------------------------------------------------------------------
    def token_logprobs(
        self, texts: Sequence[str], prefixes: Sequence[str | None] | None = None
    ) -> list[np.ndarray]:
        """Per-token log-probabilities (natural log) of every scored token of every text."""
        keys = list(zip(texts, prefixes or [None] * len(texts), strict=True))
        unique = list(dict.fromkeys(keys))
        encoded = [self.encode(text, prefix) for text, prefix in unique]
        if self.mode == "causal":
            rows = [Row(i, e.ids, e.scored, e.ids) for i, e in enumerate(encoded)]
        else:
            rows = [
                Row(i, self._masked_copy(e.ids, pos), _only(len(e.ids), pos), e.ids)
                for i, e in enumerate(encoded)
                for pos, flag in enumerate(e.scored)
                if flag
            ]
        values: list[list[tuple[int, float]]] = [[] for _ in encoded]
        with torch.inference_mode():
            for batch in self._batches(rows):
                for owner, position, value in self._run(batch):
                    values[owner].append((position, value))
        per_unique = [np.array([v for _, v in sorted(vs)], dtype=np.float64) for vs in values]
        index = {key: i for i, key in enumerate(unique)}
        return [per_unique[index[key]] for key in keys]

    def sentence_scores(
        self, texts: Sequence[str], prefixes: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """One score per text: sum (or mean) of its token log-probabilities."""
        reduce = np.sum if self.reduction == "sum" else _mean
        return np.array([reduce(t) for t in self.token_logprobs(texts, prefixes)])

    def score_pairs(
        self,
        good: Sequence[str],
        bad: Sequence[str],
        good_prefixes: Sequence[str | None] | None = None,
        bad_prefixes: Sequence[str | None] | None = None,
    ) -> PairScores:
        """Scores of both sides of each pair, computed in one batched pass."""
        n = len(good)
        prefixes = None
        if good_prefixes is not None or bad_prefixes is not None:
            prefixes = [*(good_prefixes or [None] * n), *(bad_prefixes or [None] * n)]
        scores = self.sentence_scores([*good, *bad], prefixes)
        return PairScores(scores[:n], scores[n:])

    # ---- batching -------------------------------------------------------------------------
    def _masked_copy(self, ids: tuple[int, ...], pos: int) -> tuple[int, ...]:
        mask = int(self.model.tokenizer.mask_token_id)
        return (*ids[:pos], mask, *ids[pos + 1 :])

    def _batches(self, rows: list[Row]) -> Iterator[list[Row]]:
        rows = sorted(rows, key=lambda r: -len(r.ids))  # longest first: any OOM comes early
        batch: list[Row] = []
        for row in rows:
            width = len(batch[0].ids) if batch else len(row.ids)
            full = len(batch) + 1 > self.max_batch or (len(batch) + 1) * width > self.batch_tokens
            if batch and full:
                yield batch
                batch = []
            batch.append(row)
        if batch:
            yield batch

    def _run(self, batch: list[Row]) -> Iterator[tuple[int, int, float]]:
        """Forward one batch; yield (owner, position, log-prob) for every scored position."""
        device = self.model.device
        width = max(len(row.ids) for row in batch)
        pad = self.model.tokenizer.pad_token_id or 0
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for b, row in enumerate(batch):
            ids[b, : len(row.ids)] = torch.tensor(row.ids)
            mask[b, : len(row.ids)] = 1
        # Which hidden position predicts each scored token: i-1 (causal, mntp) or i (masked).
        shift = 0 if self.mode == "masked" else 1
        sel_b, sel_t, owners, target_ids = [], [], [], []
        for b, row in enumerate(batch):
            for t, flag in enumerate(row.scored):
                if flag:
                    sel_b.append(b)
                    sel_t.append(t)
                    owners.append(row.owner)
                    target_ids.append(row.original[t])
        targets = torch.tensor(target_ids)
        rb, rt = torch.tensor(sel_b), torch.tensor(sel_t) - shift
        ids, mask = ids.to(device), mask.to(device)
        with _select_head_inputs(self.model, rb.to(device), rt.to(device)) as selected:
            out = self.model.logits(ids, mask, bidirectional=self.mode == "mntp")
        logits = out[0] if selected[0] else out[rb.to(device), rt.to(device)]  # (N, V)
        logp = logits.to(self.dtype).log_softmax(-1)
        picked = logp.gather(-1, targets.to(device)[:, None])[:, 0].double().cpu().numpy()
        for owner, t, value in zip(owners, sel_t, picked, strict=True):
            yield owner, t, float(value)


@contextlib.contextmanager
def _select_head_inputs(
    model: ScoringModel, rows: torch.Tensor, cols: torch.Tensor
) -> Iterator[list[bool]]:
    """Feed the output Linear only hidden[rows, cols] (as (1, N, C)); yields [fired?]."""
    fired = [False]
    head = model.head
    if head is None:
        yield fired
        return

    def pre_hook(_module: torch.nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor]:
        hidden = args[0]
        if hidden.dim() != 3:
            return args  # type: ignore[return-value]
        fired[0] = True
        return (hidden[rows, cols].unsqueeze(0),)

    handle = head.register_forward_pre_hook(pre_hook)
    try:
        yield fired
    finally:
        handle.remove()


def _only(n: int, pos: int) -> tuple[bool, ...]:
    return tuple(i == pos for i in range(n))


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else 0.0
