"""Minimal-pair scorer against minicons (the peer), ties, precision, batching and contexts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.evaluate.helpers import OWN_TEXT, minicons_causal, minicons_masked
from trainers.evaluate.models import load_scoring_model
from trainers.evaluate.runner import accuracy_result
from trainers.evaluate.scorer import MinimalPairScorer
from trainers.evaluate.tasks import BLIMP, Pair


def _sum(x: torch.Tensor) -> float:
    return x.sum(0).item()


def _sentences(records: list[dict], n: int) -> list[str]:
    return [r["sentence_good"] for r in records[:n]] + [r["sentence_bad"] for r in records[:n]]


def test_causal_logprobs_equal_minicons(tiny_gpt2: Path, blimp_1000: list[dict]) -> None:
    sentences = _sentences(blimp_1000[::10], 100) + OWN_TEXT
    ours = MinimalPairScorer(load_scoring_model(tiny_gpt2)).sentence_scores(sentences)
    peer = minicons_causal(tiny_gpt2)
    theirs = peer.sequence_score(sentences, bos_token=True, reduction=_sum)
    np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)
    mean = MinimalPairScorer(load_scoring_model(tiny_gpt2), reduction="mean")
    theirs_mean = peer.sequence_score(sentences[:20], bos_token=True)  # minicons' default: mean
    np.testing.assert_allclose(mean.sentence_scores(sentences[:20]), theirs_mean, atol=1e-4, rtol=0)


def test_masked_pll_equals_minicons(tiny_bert: Path, blimp_1000: list[dict]) -> None:
    sentences = _sentences(blimp_1000[::10], 100) + OWN_TEXT
    ours = MinimalPairScorer(load_scoring_model(tiny_bert)).token_logprobs(sentences)
    theirs = minicons_masked(tiny_bert).compute_stats(
        minicons_masked(tiny_bert).prepare_text(sentences), return_tensors=False
    )
    assert [len(t) for t in ours] == [len(t) for t in theirs]  # same tokens masked, specials never
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    ("arch", "n"),
    [("gpt2", 1000), ("bert", 200), pytest.param("bert", 1000, marks=pytest.mark.slow)],
)
def test_blimp_1000_accuracy_matches_minicons(
    arch: str, n: int, request: pytest.FixtureRequest, blimp_1000: list[dict]
) -> None:
    folder = request.getfixturevalue(f"tiny_{arch}")
    records = blimp_1000[:: 1000 // n]
    good = [r["sentence_good"] for r in records]
    bad = [r["sentence_bad"] for r in records]
    assert len(good) == n
    scores = MinimalPairScorer(load_scoring_model(folder)).score_pairs(good, bad)
    if arch == "gpt2":
        peer = minicons_causal(folder)
        g = peer.sequence_score(good, bos_token=True, reduction=_sum)
        b = peer.sequence_score(bad, bos_token=True, reduction=_sum)
    else:
        peer = minicons_masked(folder)
        g = [
            s
            for i in range(0, n, 100)
            for s in peer.sequence_score(good[i : i + 100], reduction=_sum)
        ]
        b = [
            s
            for i in range(0, n, 100)
            for s in peer.sequence_score(bad[i : i + 100], reduction=_sum)
        ]
    theirs = np.array(g) > np.array(b)
    assert scores.correct.sum() == theirs.sum()
    assert (scores.correct == theirs).all()


class ConstantLM(torch.nn.Module):
    """Uniform next-token distribution everywhere: every sentence gets the same mean log-prob."""

    def __init__(self, vocab: int):
        super().__init__()
        self.vocab = vocab
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        return torch.zeros(*input_ids.shape, self.vocab) + self.dummy


def test_identical_scores_are_errors_and_reported(tiny_gpt2: Path, blimp_1000: list[dict]) -> None:
    tokenizer = load_scoring_model(tiny_gpt2).tokenizer
    model = load_scoring_model((ConstantLM(len(tokenizer)), tokenizer), objective="causal")
    scorer = MinimalPairScorer(model, reduction="mean")
    records = blimp_1000[:200]
    pairs = [
        Pair(r["sentence_good"], r["sentence_bad"], groups={g: r[g] for g in BLIMP.group_by})
        for r in records
    ]
    scores = scorer.score_pairs([p.good for p in pairs], [p.bad for p in pairs])
    result = accuracy_result(BLIMP, pairs, scores.correct, scores.ties)
    assert result.score == 0.0
    assert result.ties == 200 and result.n == 200
    uid = records[0]["UID"]
    assert result.groups["UID"][uid].ties == result.groups["UID"][uid].n == 15


def test_float64_agrees_with_float32(tiny_gpt2: Path) -> None:
    model = load_scoring_model(tiny_gpt2)
    f32 = MinimalPairScorer(model).token_logprobs(OWN_TEXT)
    f64 = MinimalPairScorer(model, precision="float64").token_logprobs(OWN_TEXT)
    for a, b in zip(f32, f64, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
        assert a.dtype == b.dtype == np.float64


def test_context_scores_obey_the_chain_rule(tiny_gpt2: Path) -> None:
    """log P(context target) = log P(context) + log P(target | context) for a causal model."""
    scorer = MinimalPairScorer(load_scoring_model(tiny_gpt2))
    contexts = ["The dog chased a ball.", "Many people were hoping."]
    targets = ["It was red.", "The weather would improve."]
    joint = scorer.sentence_scores([f"{c} {t}" for c, t in zip(contexts, targets, strict=True)])
    alone = scorer.sentence_scores(contexts)
    conditional = scorer.sentence_scores(targets, contexts)
    np.testing.assert_allclose(joint, alone + conditional, atol=1e-4, rtol=0)
    assert (conditional != scorer.sentence_scores(targets)).all()


@given(
    st.lists(
        st.sampled_from([*OWN_TEXT, "A cat.", "Who?", "Boats were long and slow today."]),
        min_size=1,
        max_size=8,
    ),
    st.integers(min_value=1, max_value=64),
)
def test_batching_does_not_change_scores(sentences: list[str], max_batch: int) -> None:
    model = _cached_bert()
    reference = MinimalPairScorer(model, batch_tokens=1 << 20).sentence_scores(sentences)
    small = MinimalPairScorer(model, batch_tokens=64, max_batch=max_batch).sentence_scores(
        sentences
    )
    np.testing.assert_allclose(small, reference, atol=1e-5, rtol=0)


_BERT: list = []


def _cached_bert():
    if not _BERT:
        import tempfile

        from tests.evaluate.helpers import save_tiny_bert

        folder = Path(tempfile.mkdtemp(prefix="bert-"))
        _BERT.append(load_scoring_model(save_tiny_bert(folder, OWN_TEXT * 3)))
    return _BERT[0]


@given(st.lists(st.tuples(st.integers(-5, 5), st.integers(-5, 5)), min_size=1, max_size=50))
def test_ties_are_never_correct_in_either_direction(values: list[tuple[int, int]]) -> None:
    """acc(good, bad) + acc(bad, good) + tie rate = 1: a tie counts for neither side."""
    from trainers.evaluate.scorer import PairScores

    good = np.array([float(g) for g, _ in values])
    bad = np.array([float(b) for _, b in values])
    forward, backward = PairScores(good, bad), PairScores(bad, good)
    total = forward.correct.mean() + backward.correct.mean() + forward.ties.mean()
    assert total == pytest.approx(1.0)
    assert not (forward.correct & forward.ties).any()


def test_device_names_are_checked() -> None:
    from trainers.evaluate.errors import ScoringModelError
    from trainers.evaluate.models import resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ScoringModelError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ScoringModelError, match="no CUDA device"):
            resolve_device("cuda")


@given(
    st.lists(st.integers(1, 40), min_size=1, max_size=60),
    st.integers(1, 300),
    st.integers(1, 16),
    st.booleans(),
)
def test_batches_cover_rows_in_order_within_budget(
    lengths: list[int], batch_tokens: int, max_batch: int, equal_length: bool
) -> None:
    """Every row once, in order; a batch is as large as budget allows, and, with
    ``equal_length``, also stops where the (sorted) length changes, so it has no padding."""
    rows = np.array(sorted(lengths, reverse=True))
    scorer = MinimalPairScorer(
        _cached_bert(), batch_tokens=batch_tokens, max_batch=max_batch, equal_length=equal_length
    )
    slices = list(scorer._batches(rows))
    assert [a for a, _ in slices] == [0] + [b for _, b in slices[:-1]]
    assert slices[-1][1] == len(rows)
    for start, stop in slices:
        width, left = int(rows[start]), len(rows) - start
        allowed = min(max(1, min(max_batch, batch_tokens // width)), left)
        same = int((rows[start:] == width).sum())
        assert stop - start == (min(allowed, same) if equal_length else allowed)


@pytest.mark.parametrize("arch", ["gpt2", "bert"])
def test_equal_length_batches_agree_with_packed_ones(
    arch: str, request: pytest.FixtureRequest, blimp_1000: list[dict]
) -> None:
    model = load_scoring_model(request.getfixturevalue(f"tiny_{arch}"))
    records = blimp_1000[:300:3]
    good, bad = [r["sentence_good"] for r in records], [r["sentence_bad"] for r in records]
    packed = MinimalPairScorer(model).score_pairs(good, bad)
    equal = MinimalPairScorer(model, equal_length=True).score_pairs(good, bad)
    # Other batch shapes round differently in float32 (as other batch sizes do), nothing more.
    np.testing.assert_allclose(equal.good, packed.good, atol=1e-5, rtol=0)
    np.testing.assert_allclose(equal.bad, packed.bad, atol=1e-5, rtol=0)
    assert (equal.correct == packed.correct).all() and (equal.ties == packed.ties).all()
