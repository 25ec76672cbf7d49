"""The scorer on the trainer's own modules: gpt (causal), ltgbert (masked PLL), gptbert (mntp).

Each batched score is checked against a one-sentence, one-position-at-a-time reference loop
written straight from the definition, and the gpt export against minicons on its HF copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Literal

import numpy as np
import pytest
import torch

from tests.evaluate.helpers import (
    OWN_TEXT,
    minicons_causal,
    minicons_masked,
    save_trainer_export,
)
from trainers.evaluate.errors import ScoringModelError
from trainers.evaluate.models import load_scoring_model
from trainers.evaluate.scorer import MinimalPairScorer

SENTENCES = [*OWN_TEXT, "A cat sees the dog.", "The dog sees a cat ."]


def _export(folder: Path, arch: str) -> Path:
    save_trainer_export(folder, arch, OWN_TEXT * 5, seed=1)
    return folder


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {
        arch: _export(tmp_path_factory.mktemp(arch), arch) for arch in ("gpt", "ltgbert", "gptbert")
    }


def _reference(model, text: str, mode: str) -> float:
    """Sum of log-probs from the definition: one forward per scored token, no batching."""
    tok = model.tokenizer
    enc = tok(text, return_special_tokens_mask=True)
    ids, special = enc["input_ids"], enc["special_tokens_mask"]
    total = 0.0
    with torch.no_grad():
        for i, token in enumerate(ids):
            if special[i] or (mode != "masked" and i == 0):
                continue
            x = torch.tensor([ids])
            if mode != "causal":
                x[0, i] = tok.mask_token_id
            logits = model.logits(x, torch.ones_like(x), bidirectional=mode == "mntp")
            read = i if mode == "masked" else i - 1
            total += torch.log_softmax(logits[0, read].double(), -1)[token].item()
    return total


@pytest.mark.parametrize("arch", ["gpt", "ltgbert", "gptbert"])
def test_trainer_models_match_the_definition(arch: str, exports: dict[str, Path]) -> None:
    folder = exports[arch]
    model = load_scoring_model(folder)
    mode = {"gpt": "causal", "ltgbert": "masked", "gptbert": "mntp"}[arch]
    scorer = MinimalPairScorer(model, batch_tokens=48)
    assert scorer.mode == mode
    expected = [_reference(model, s, mode) for s in SENTENCES]
    np.testing.assert_allclose(scorer.sentence_scores(SENTENCES), expected, atol=1e-4, rtol=0)


def test_gptbert_can_also_be_read_causally(exports: dict[str, Path]) -> None:
    model = load_scoring_model(exports["gptbert"])
    expected = [_reference(model, s, "causal") for s in SENTENCES]
    causal = MinimalPairScorer(model, mode="causal").sentence_scores(SENTENCES)
    np.testing.assert_allclose(causal, expected, atol=1e-4, rtol=0)


def test_gpt_export_matches_minicons_on_its_hf_copy(exports: dict[str, Path]) -> None:
    folder = exports["gpt"]
    ours = MinimalPairScorer(load_scoring_model(folder)).sentence_scores(SENTENCES)
    theirs = minicons_causal(folder).sequence_score(SENTENCES, reduction=lambda x: x.sum(0).item())
    np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)


def _sum(x: torch.Tensor) -> float:
    return x.sum(0).item()


@pytest.mark.parametrize("arch", ["ltgbert", "gptbert"])
def test_encoder_exports_match_minicons_masked_pll(arch: str, exports: dict[str, Path]) -> None:
    """minicons reads the HF copy (remote code) as a BERT; ours: masked PLL or mntp."""
    folder = exports[arch]
    ours = MinimalPairScorer(load_scoring_model(folder)).sentence_scores(SENTENCES)
    masked = minicons_masked(folder, trust_remote_code=True)
    theirs = masked.sequence_score(SENTENCES, reduction=_sum)
    np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)


def test_gptbert_export_matches_minicons_causal(exports: dict[str, Path]) -> None:
    folder = exports["gptbert"]
    model = load_scoring_model(folder)
    ours = MinimalPairScorer(model, mode="causal").sentence_scores(SENTENCES)
    theirs = minicons_causal(folder, trust_remote_code=True).sequence_score(
        SENTENCES, reduction=_sum
    )
    np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)


@pytest.mark.parametrize("arch", ["gpt", "gptbert"])
def test_causal_exports_match_lm_eval_harness(arch: str, exports: dict[str, Path]) -> None:
    """lm-evaluation-harness' HF backend loads the export (gptbert through its saved code) and
    its loglikelihood of a continuation is the sum of our log-probs of those tokens."""
    pytest.importorskip("lm_eval")
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    folder = exports[arch]
    harness = HFLM(
        pretrained=str(folder), backend="causal", device="cpu", batch_size=4, trust_remote_code=True
    )
    pairs = [("The cat", " sees the dog."), ("A dog", " sings a song .")]
    requests = [Instance("loglikelihood", {}, pair, i) for i, pair in enumerate(pairs)]
    theirs = [logprob for logprob, _greedy in harness.loglikelihood(requests)]
    model = load_scoring_model(folder)
    scorer = MinimalPairScorer(model, mode="causal")
    ours = []
    for context, continuation in pairs:
        n = len(model.tokenizer(continuation, add_special_tokens=False).input_ids)
        ours.append(scorer.token_logprobs([context + continuation])[0][-n:].sum())
    np.testing.assert_allclose(theirs, ours, atol=1e-4, rtol=0)


@pytest.mark.parametrize("arch", ["ltgbert", "gptbert"])
def test_encoder_export_scores_as_a_plain_hf_folder(
    arch: str, exports: dict[str, Path], tmp_path: Path
) -> None:
    """Without trainers.json the folder is an HF model whose code runs only when allowed."""
    folder = Path(shutil.copytree(exports[arch], tmp_path / arch))
    (folder / "trainers.json").unlink()
    with pytest.raises(ScoringModelError) as info:
        load_scoring_model(folder)
    assert str(info.value) == (
        f"{folder / 'config.json'}: the model's code is saved in its folder (config.json has an "
        "auto_map) and running it was not allowed "
        "(hint: if you trust the .py files next to config.json, pass trust_remote_code=True "
        "(corpuskit evaluate: --trust-remote-code))"
    )
    hf = load_scoring_model(folder, trust_remote_code=True)
    assert (hf.kind, hf.objective) == ("hf", "masked")
    ours = MinimalPairScorer(load_scoring_model(exports[arch])).sentence_scores(SENTENCES)
    np.testing.assert_allclose(MinimalPairScorer(hf).sentence_scores(SENTENCES), ours, atol=1e-5)


@pytest.mark.parametrize("compute", ["tf32", "bf16"])
@pytest.mark.parametrize("arch", ["gpt", "ltgbert", "gptbert"])
def test_trainer_models_score_in_reduced_precision(
    arch: str, compute: Literal["tf32", "bf16"], exports: dict[str, Path]
) -> None:
    """Our own modules run under bf16 autocast / TF32 too, within test_compute's tolerance."""
    from tests.evaluate.test_compute import PER_TOKEN_TOLERANCE

    model = load_scoring_model(exports[arch])
    exact = MinimalPairScorer(model)
    tokens = np.array([len(t) for t in exact.token_logprobs(SENTENCES)])
    fast = MinimalPairScorer(model, compute=compute).sentence_scores(SENTENCES)
    assert (np.abs(fast - exact.sentence_scores(SENTENCES)) <= PER_TOKEN_TOLERANCE * tokens).all()


def test_finetuning_pools_the_s_state_of_an_hf_gptbert(
    exports: dict[str, Path], tmp_path: Path
) -> None:
    """Read as an HF masked LM, GPT-BERT's states move one right before the head; position 0
    must still hold the <s> state that fine-tuning pools (not padding)."""
    from trainers.evaluate.finetune import Classifier

    folder = Path(shutil.copytree(exports["gptbert"], tmp_path / "gptbert"))
    (folder / "trainers.json").unlink()
    hf = load_scoring_model(folder, trust_remote_code=True)
    ours = load_scoring_model(exports["gptbert"]).module
    classifier = Classifier(hf, num_labels=2)
    ids = hf.tokenizer(["the cat sees a song ."], return_tensors="pt").input_ids
    with torch.no_grad():
        pooled = ours.features(ids, causal=False)[:, 0]
        assert torch.allclose(classifier(ids, torch.ones_like(ids)), classifier.classifier(pooled))
