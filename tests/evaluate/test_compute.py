"""Opt-in compute precision of the scorer's forward pass (fp32 | tf32 | bf16), on CPU."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.evaluate.helpers import OWN_TEXT, save_tiny_bert, save_tiny_gpt2
from trainers.evaluate.compute import _HOLDERS, Compute, matmul_precision_state
from trainers.evaluate.errors import ScoringModelError
from trainers.evaluate.models import ScoringModel, load_scoring_model
from trainers.evaluate.scorer import MinimalPairScorer

SENTENCES = [*OWN_TEXT, "A cat.", "Who?", "Boats were long and slow today."]
# Sentence scores of SENTENCES from the scorer as it was before `compute` existed (commit
# c52b7a6, torch 2.13 CPU, one thread), for the models `_model` builds: fp32 must not move a bit.
# (The BERT uses a fixed vocabulary: a trained WordPiece's ids differ from process to process.)
BEFORE = {
    "gpt2": [
        "-0x1.aa5cb1c000000p+5",
        "-0x1.d4a04c0000000p+5",
        "-0x1.d1d15a8000000p+5",
        "-0x1.dc044fc000000p+5",
        "-0x1.1863a10000000p+4",
        "-0x1.73f0a10000000p+3",
        "-0x1.a76172c000000p+6",
    ],
    "bert": [
        "-0x1.05f0108000000p+5",
        "-0x1.26825e2000000p+5",
        "-0x1.22a36ae000000p+5",
        "-0x1.22fc6e2000000p+5",
        "-0x1.5bdf4f0000000p+3",
        "-0x1.d44fcc0000000p+2",
        "-0x1.9ab840c000000p+4",
    ],
}
# bf16 keeps 8 significant bits: measured |Δ| ≤ 4e-4 nats per scored token on these models;
# the stated bound is 5e-3 nats per token, so a sentence moves by at most 5e-3 × its tokens.
PER_TOKEN_TOLERANCE = 5e-3

_MODELS: dict[str, ScoringModel] = {}


def _model(arch: str, tmp_path_factory: pytest.TempPathFactory) -> ScoringModel:
    """A tiny random GPT-2 or BERT (seed 0) with a vocabulary from OWN_TEXT, built once."""
    if arch not in _MODELS:
        folder = tmp_path_factory.mktemp(arch)
        if arch == "gpt2":
            saved = save_tiny_gpt2(folder, OWN_TEXT * 3)
        else:
            saved = save_tiny_bert(folder, OWN_TEXT, fixed_vocab=True)
        _MODELS[arch] = load_scoring_model(saved)
    return _MODELS[arch]


@pytest.mark.parametrize("arch", ["gpt2", "bert"])
def test_fp32_scores_are_those_from_before(
    arch: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    model = _model(arch, tmp_path_factory)
    expected = [float.fromhex(h) for h in BEFORE[arch]]
    default = MinimalPairScorer(model).sentence_scores(SENTENCES)
    # Bit for bit on the machine the values were recorded on; another CPU's kernels may round
    # differently, so across machines the check is float32 rounding (bf16 moves scores ~1e-3).
    np.testing.assert_allclose(default, expected, rtol=1e-6, atol=0)
    explicit = MinimalPairScorer(model, compute="fp32").sentence_scores(SENTENCES)
    assert explicit.tolist() == default.tolist()


@pytest.mark.parametrize("compute", ["tf32", "bf16"])
@pytest.mark.parametrize("arch", ["gpt2", "bert"])
def test_reduced_precision_stays_within_tolerance_and_clear_verdicts_agree(
    arch: str, compute: Compute, request: pytest.FixtureRequest, blimp_1000: list[dict]
) -> None:
    # The session's models: tokenizers trained on BLiMP, so its words are not [UNK].
    model = load_scoring_model(request.getfixturevalue(f"tiny_{arch}"))
    records = blimp_1000[:400:2]
    good, bad = [r["sentence_good"] for r in records], [r["sentence_bad"] for r in records]
    exact = MinimalPairScorer(model)
    fast = MinimalPairScorer(model, compute=compute)
    tokens = np.array([len(t) for t in exact.token_logprobs(good + bad)])
    tolerance = PER_TOKEN_TOLERANCE * tokens
    ref, got = exact.score_pairs(good, bad), fast.score_pairs(good, bad)
    assert (np.abs(np.r_[got.good, got.bad] - np.r_[ref.good, ref.bad]) <= tolerance).all()
    # A pair whose fp32 margin exceeds both sentences' tolerances cannot flip.
    n = len(good)
    clear = np.abs(ref.good - ref.bad) > tolerance[:n] + tolerance[n:]
    assert clear.sum() >= 0.6 * n  # the check below covers most pairs, not a handful
    assert (got.correct[clear] == ref.correct[clear]).all()


class _Recording(torch.nn.Module):
    """Wraps a module; records the autocast and matmul settings each forward pass ran under."""

    def __init__(self, inner: torch.nn.Module, fail: bool = False):
        super().__init__()
        self.inner, self.fail = inner, fail
        self.seen: list[tuple[bool, tuple[str | None, ...]]] = []

    def forward(self, *args: object, **kwargs: object) -> object:
        self.seen.append((torch.is_autocast_enabled("cpu"), matmul_precision_state()))
        if self.fail:
            raise RuntimeError("forward failed")
        return self.inner(*args, **kwargs)


def _score_unless_failing(scorer: MinimalPairScorer, fail: bool) -> np.ndarray | None:
    """Scores of OWN_TEXT; with a failing model, checks the forward's error comes through."""
    if fail:
        with pytest.raises(RuntimeError, match="forward failed"):
            scorer.sentence_scores(OWN_TEXT)
        return None
    return scorer.sentence_scores(OWN_TEXT)


def _recording(
    tmp_path_factory: pytest.TempPathFactory, fail: bool = False
) -> tuple[ScoringModel, _Recording]:
    base = _model("gpt2", tmp_path_factory)
    wrapped = _Recording(base.module, fail)
    return ScoringModel(wrapped, base.tokenizer, "causal", "recording", "hf"), wrapped


def _set_highest() -> None:
    torch.set_float32_matmul_precision("highest")


def _restore(state: tuple[str | None, ...]) -> None:
    """Put back a ``matmul_precision_state()`` (legacy string first, then per-backend ones)."""
    _set_highest()
    if state[0] is not None:
        torch.set_float32_matmul_precision(state[0])
    for holder, value in zip(_HOLDERS, state[1:], strict=True):
        if value is not None:
            holder.fp32_precision = value


def _set_medium() -> None:
    torch.set_float32_matmul_precision("medium")


def _set_per_backend() -> None:
    # Mixing torch's per-backend and legacy APIs makes the legacy getter raise: still restored.
    _, cuda_matmul, mkldnn_matmul = _HOLDERS
    if hasattr(cuda_matmul, "fp32_precision"):
        cuda_matmul.fp32_precision = "tf32"
        mkldnn_matmul.fp32_precision = "ieee"


@pytest.mark.parametrize("setup", [_set_highest, _set_medium, _set_per_backend])
@pytest.mark.parametrize("fail", [False, True])
def test_tf32_sets_matmul_precision_only_inside_the_forward_pass(
    setup: Callable[[], None], fail: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    before = matmul_precision_state()
    try:
        _set_highest()
        setup()
        caller = matmul_precision_state()
        model, recorder = _recording(tmp_path_factory, fail)
        _score_unless_failing(MinimalPairScorer(model, compute="tf32"), fail)
        assert matmul_precision_state() == caller
        assert recorder.seen and all(not autocast for autocast, _ in recorder.seen)
        inside = {state for _, state in recorder.seen}
        assert len(inside) == 1 and inside != {caller}
        (state,) = inside
        legacy, _, cuda_matmul, _ = state
        assert cuda_matmul == "tf32" if cuda_matmul is not None else legacy == "high"
    finally:
        _restore(before)
    assert matmul_precision_state() == before


def test_fp32_forward_runs_under_the_callers_settings(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    model, recorder = _recording(tmp_path_factory)
    caller = matmul_precision_state()
    MinimalPairScorer(model).sentence_scores(OWN_TEXT)
    assert recorder.seen and set(recorder.seen) == {(False, caller)}


@pytest.mark.parametrize("fail", [False, True])
def test_bf16_autocasts_the_forward_only_and_log_softmax_stays_float32(
    fail: bool, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    softmaxes: list[tuple[torch.dtype, bool]] = []
    original = torch.Tensor.log_softmax

    def spy(self: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        softmaxes.append((self.dtype, torch.is_autocast_enabled("cpu")))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "log_softmax", spy)
    model, recorder = _recording(tmp_path_factory, fail)
    scores = _score_unless_failing(MinimalPairScorer(model, compute="bf16"), fail)
    if not fail:
        assert scores is not None and scores.dtype == np.float64
        assert softmaxes and set(softmaxes) == {(torch.float32, False)}
    assert recorder.seen and all(autocast for autocast, _ in recorder.seen)
    assert not torch.is_autocast_enabled("cpu")


@pytest.mark.parametrize("compute", ["tf32", "bf16"])
def test_ties_stay_errors_in_reduced_precision(
    compute: Compute, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.evaluate.test_scorer import ConstantLM

    tokenizer = _model("gpt2", tmp_path_factory).tokenizer
    model = load_scoring_model((ConstantLM(len(tokenizer)), tokenizer), objective="causal")
    scorer = MinimalPairScorer(model, reduction="mean", compute=compute)
    scores = scorer.score_pairs(OWN_TEXT[:2], OWN_TEXT[2:])
    assert scores.ties.tolist() == [True, True]
    assert scores.correct.tolist() == [False, False]


def test_unknown_compute_is_a_located_error_with_a_hint(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from trainers.evaluate.runner import EvalSettings

    model = _model("gpt2", tmp_path_factory)
    with pytest.raises(ScoringModelError) as error:
        MinimalPairScorer(model, compute="fp16")  # type: ignore[arg-type]
    assert str(error.value).startswith(
        "compute: unknown compute precision 'fp16' (expected one of fp32, tf32, bf16) (hint: "
    )
    assert "\n" not in str(error.value)
    with pytest.raises(ScoringModelError, match="^EvalSettings.compute: unknown compute"):
        EvalSettings(compute="half")  # type: ignore[arg-type]


def test_compute_keys_the_cache_and_leaves_fp32_keys_as_they_were(
    tiny_gpt2: Path, data_root: Path, tmp_path: Path
) -> None:
    import json

    from trainers.evaluate.runner import EvalReport, EvalSettings, eval_key, evaluate
    from trainers.evaluate.tasks import resolve_task

    blimp = [resolve_task("blimp")]
    # Keys from before `compute` existed (commit c52b7a6): fp32 caches stay valid.
    assert eval_key(blimp, EvalSettings()) == "08c90fae5616"
    assert eval_key(blimp, EvalSettings(compute="fp32")) == "08c90fae5616"
    assert eval_key(blimp, EvalSettings(limit=3, mode="masked")) == "48838b936c47"
    computes: tuple[Compute, ...] = ("fp32", "tf32", "bf16")
    keys = {eval_key(blimp, EvalSettings(compute=c)) for c in computes}
    assert len(keys) == 3

    task = [str(Path(__file__).parents[1] / "data" / "evaluate" / "agreement.jsonl")]

    def run(compute: Compute) -> EvalReport:
        settings = EvalSettings(compute=compute)
        return evaluate(tiny_gpt2, task, data_root=data_root, settings=settings, cache_dir=tmp_path)

    fp32, bf16, again = run("fp32"), run("bf16"), run("bf16")
    assert not fp32.cached and not bf16.cached and again.cached
    assert fp32.path != bf16.path == again.path
    assert fp32.path is not None and bf16.path is not None
    assert json.loads(fp32.path.read_text())["settings"]["compute"] == "fp32"
    assert json.loads(bf16.path.read_text())["settings"]["compute"] == "bf16"


@pytest.mark.parametrize("arch", ["gpt2", "bert"])
def test_bf16_runs_the_output_head_in_float32_and_puts_its_forward_back(
    arch: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    model = _model(arch, tmp_path_factory)
    head = model.head
    assert head is not None
    seen: list[tuple[torch.dtype, bool]] = []

    def record(_module: torch.nn.Module, _args: Any, out: torch.Tensor) -> None:
        seen.append((out.dtype, torch.is_autocast_enabled("cpu")))

    hook = head.register_forward_hook(record)
    try:
        bf16 = MinimalPairScorer(model, compute="bf16").sentence_scores(SENTENCES)
        fp32 = MinimalPairScorer(model).sentence_scores(SENTENCES)
    finally:
        hook.remove()
    # Under bf16 autocast a Linear returns bf16; the head's logits stay float32 all the same.
    half = len(seen) // 2
    assert half and set(seen[:half]) == {(torch.float32, True)}
    assert set(seen[half:]) == {(torch.float32, False)}
    assert "forward" not in head.__dict__  # the class's forward again
    assert not np.array_equal(bf16, fp32)  # the body still ran in bf16
