"""Minimal-pair scoring: per-token log-probabilities of sentences, reduced to one score each.

Three ways to read a sentence's probability out of a model (``mode``):

- ``causal``: sum of log P(w_t | w_<t) over the sentence, conditioned on a BOS token (the
  tokenizer's own, else end-of-text), as lm-evaluation-harness and minicons do.
- ``masked``: pseudo-log-likelihood (Salazar et al. 2020): one copy per token with that token
  masked; special tokens are never masked. All copies of all sentences are batched together.
- ``mntp``: GPT-BERT's masked next-token prediction: mask token i, read the prediction at i-1.

Log-softmax runs in float32 or float64 whatever the model's dtype (bf16 scores create ties).
The forward pass itself runs in fp32 unless ``compute`` opts into tf32 or bf16 (see
:mod:`trainers.evaluate.compute`); the log-softmax stays in ``precision`` either way.
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

from trainers.evaluate.compute import Compute, check_compute, float32_head, forward_precision
from trainers.evaluate.errors import ScoringModelError
from trainers.evaluate.models import ScoringModel

Mode = Literal["auto", "causal", "masked", "mntp"]
DEFAULT_MODE = {"causal": "causal", "masked": "masked", "hybrid": "mntp"}


@dataclass(frozen=True)
class Encoded:
    """Token ids of one text and, per position, whether its log-probability counts."""

    ids: tuple[int, ...]
    scored: tuple[bool, ...]


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
        compute: precision of the model's forward pass: ``fp32`` (default, exact), ``tf32``
            (TensorFloat-32 matmuls, the global setting restored after each forward) or
            ``bf16`` (bfloat16 autocast around the forward only).
        batch_tokens: most (rows × padded length) tokens in one forward pass (default: 1,024
            on CPU, where small batches stay in cache; 16,384 on a GPU).
        max_batch: most rows in one forward pass.
        equal_length: also cut a batch where the sorted row length changes, so no batch has
            padding (HF models then drop the all-ones mask, so SDPA may pick mask-free
            kernels); off by default. Scores agree with packed batches to float32 rounding.
    """

    def __init__(
        self,
        model: ScoringModel,
        *,
        mode: Mode = "auto",
        reduction: Literal["sum", "mean"] = "sum",
        precision: Literal["float32", "float64"] = "float32",
        compute: Compute = "fp32",
        batch_tokens: int | None = None,
        max_batch: int = 512,
        equal_length: bool = False,
    ):
        self.model = model
        self.mode = DEFAULT_MODE[model.objective] if mode == "auto" else mode
        if self.mode == "mntp" and model.objective != "hybrid":
            raise ScoringModelError(
                "mode 'mntp' needs a hybrid (gptbert) model", location=model.name
            )
        if self.mode == "masked" and model.tokenizer.mask_token_id is None:
            raise ScoringModelError(
                "masked scoring needs a tokenizer with a mask token", location=model.name
            )
        self.reduction = reduction
        self.dtype = {"float32": torch.float32, "float64": torch.float64}[precision]
        self.compute = check_compute(compute)
        # Small batches stay in CPU caches; a GPU wants large ones.
        default = 1024 if model.device.type == "cpu" else 16384
        self.batch_tokens, self.max_batch = batch_tokens or default, max_batch
        self.equal_length = equal_length

    # ---- encoding -------------------------------------------------------------------------
    def encode(self, text: str, prefix: str | None = None) -> Encoded:
        """Ids with the tokenizer's specials; with ``prefix``, only the text's tokens count."""
        return self.encode_many([text], [prefix])[0]

    def encode_many(
        self, texts: Sequence[str], prefixes: Sequence[str | None] | None = None
    ) -> list[Encoded]:
        """:meth:`encode` for many texts with one batched tokenizer call per kind."""
        prefixes = prefixes or [None] * len(texts)
        out: list[Encoded | None] = [None] * len(texts)
        for with_prefix in (False, True):
            index = [i for i, p in enumerate(prefixes) if (p is not None) == with_prefix]
            if not index:
                continue
            full = [texts[i] if not with_prefix else f"{prefixes[i]} {texts[i]}" for i in index]
            enc = self.model.tokenizer(
                full,
                add_special_tokens=True,
                return_special_tokens_mask=True,
                return_offsets_mapping=with_prefix,
            )
            all_ids, all_special = enc["input_ids"], enc["special_tokens_mask"]
            all_offsets = enc["offset_mapping"] if with_prefix else [None] * len(index)
            bos = self._bos() if self.mode == "causal" else None
            for k, i in enumerate(index):
                prefix = prefixes[i]
                end = len(prefix) if prefix is not None else 0
                out[i] = self._mark(all_ids[k], all_special[k], all_offsets[k], end, bos)
        return [e for e in out if e is not None]

    def _mark(
        self,
        ids: list[int],
        special: list[int],
        offsets: list[tuple[int, int]] | None,
        end: int,
        bos: int | None,
    ) -> Encoded:
        if bos is not None and (not ids or ids[0] != bos):  # causal: condition on BOS
            ids, special = [bos, *ids], [1, *special]
            offsets = [(0, 0), *offsets] if offsets is not None else None
        first = 0 if self.mode == "masked" else 1  # causal and mntp read position i-1
        # A target token ends after the prefix (byte-level BPE folds the joining space into it).
        if offsets is None:
            scored = tuple(i >= first and not flag for i, flag in enumerate(special))
        else:
            scored = tuple(
                i >= first and not flag and offsets[i][1] > end for i, flag in enumerate(special)
            )
        return Encoded(tuple(ids), scored)

    def _bos(self) -> int:
        tok = self.model.tokenizer
        bos = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        if bos is None:
            raise ScoringModelError(
                "causal scoring needs a BOS or EOS token", location=self.model.name
            )
        return int(bos)

    # ---- scoring --------------------------------------------------------------------------
    def token_logprobs(
        self, texts: Sequence[str], prefixes: Sequence[str | None] | None = None
    ) -> list[np.ndarray]:
        """Per-token log-probabilities (natural log) of every scored token of every text."""
        keys = list(zip(texts, prefixes or [None] * len(texts), strict=True))
        unique = list(dict.fromkeys(keys))
        if not unique:
            return []
        encoded = self.encode_many([t for t, _ in unique], [p for _, p in unique])
        table = _Table.of(encoded, self.model.tokenizer.pad_token_id or 0)
        if self.mode == "causal":  # one row per text
            owner = np.arange(len(encoded))
            pos = np.full(len(encoded), -1)
        else:  # one row per scored token: the text with that token masked
            owner, pos = np.nonzero(table.scored.numpy())
        order = np.argsort(-table.lengths.numpy()[owner], kind="stable")  # longest first
        owner, pos = owner[order], pos[order]
        parts = []
        with torch.inference_mode():
            for start, stop in self._batches(table.lengths.numpy()[owner]):
                parts.append(self._run(table, owner[start:stop], pos[start:stop]))
        owners, positions, values = (np.concatenate(x) for x in zip(*parts, strict=True))
        ordered = np.lexsort((positions, owners))
        counts = np.bincount(owners, minlength=len(encoded))
        per_unique = np.split(values[ordered], np.cumsum(counts)[:-1])
        index = {key: i for i, key in enumerate(unique)}
        return [per_unique[index[key]] for key in keys]

    def sentence_scores(
        self, texts: Sequence[str], prefixes: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """One score per text: sum (or mean) of its token log-probabilities."""
        reduce = np.sum if self.reduction == "sum" else _mean
        return np.array([reduce(t) for t in self.token_logprobs(texts, prefixes)], dtype=np.float64)

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
    def _batches(self, lengths: np.ndarray) -> Iterator[tuple[int, int]]:
        """(start, stop) slices of rows sorted longest first, within the token budget."""
        start = 0
        while start < len(lengths):
            width = int(lengths[start])  # the longest row of the batch is its first
            size = max(1, min(self.max_batch, self.batch_tokens // max(width, 1)))
            stop = min(start + size, len(lengths))
            if self.equal_length:  # stop after the last row as long as the first
                stop = start + int(np.searchsorted(-lengths[start:stop], -width, side="right"))
            yield start, stop
            start = stop

    def _run(
        self, table: _Table, owner: np.ndarray, pos: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Forward one batch; (owner, position, log-prob) of every scored position in it."""
        device = self.model.device
        rows = torch.from_numpy(owner)
        width = int(table.lengths[rows].max())
        ids = table.ids[rows, :width].clone()  # (B, T)
        mask = (torch.arange(width)[None, :] < table.lengths[rows][:, None]).long()
        if self.mode == "causal":
            sel_b, sel_t = torch.nonzero(table.scored[rows, :width], as_tuple=True)
            targets = ids[sel_b, sel_t]
        else:
            sel_b, sel_t = torch.arange(len(rows)), torch.from_numpy(pos)
            targets = ids[sel_b, sel_t].clone()
            ids[sel_b, sel_t] = int(self.model.tokenizer.mask_token_id)
        # The hidden state at i-1 predicts token i (causal, mntp); at i itself when masked.
        read_b, read_t = sel_b.to(device), (sel_t - int(self.mode != "masked")).to(device)
        with (
            _select_head_inputs(self.model, read_b, read_t) as selected,
            forward_precision(self.compute, device),
            float32_head(self.model.head, self.compute, device),
        ):
            out = self.model.logits(
                ids.to(device), mask.to(device), bidirectional=self.mode == "mntp"
            )
        logits = out[0] if selected[0] else out[read_b, read_t]  # (N, V)
        logp = logits.to(self.dtype).log_softmax(-1)  # faster than logsumexp on CPU
        picked = logp.gather(-1, targets.to(device)[:, None])[:, 0].double().cpu().numpy()
        return owner[sel_b.numpy()], sel_t.numpy(), picked


@dataclass(frozen=True)
class _Table:
    """All encoded texts as padded tensors: ids (N, L), scored (N, L), lengths (N,)."""

    ids: torch.Tensor
    scored: torch.Tensor
    lengths: torch.Tensor

    @classmethod
    def of(cls, encoded: list[Encoded], pad: int) -> _Table:
        lengths = np.array([len(e.ids) for e in encoded])
        width = int(lengths.max())
        inside = np.arange(width)[None, :] < lengths[:, None]  # (N, L) real positions
        ids = np.full((len(encoded), width), pad, dtype=np.int64)
        scored = np.zeros((len(encoded), width), dtype=bool)
        ids[inside] = np.fromiter((t for e in encoded for t in e.ids), np.int64, int(lengths.sum()))
        scored[inside] = np.fromiter(
            (f for e in encoded for f in e.scored), bool, int(lengths.sum())
        )
        return cls(torch.from_numpy(ids), torch.from_numpy(scored), torch.from_numpy(lengths))


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


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else 0.0
