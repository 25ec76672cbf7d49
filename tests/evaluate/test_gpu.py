"""Scoring on a CUDA device gives the CPU's scores (deselected by default: ``-m gpu``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.evaluate.helpers import OWN_TEXT
from trainers.evaluate.compute import Compute
from trainers.evaluate.models import load_scoring_model
from trainers.evaluate.runner import EvalSettings, evaluate
from trainers.evaluate.scorer import MinimalPairScorer

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _sentences(records: list[dict]) -> list[str]:
    return [r["sentence_good"] for r in records] + [r["sentence_bad"] for r in records] + OWN_TEXT


@pytest.mark.parametrize("fixture", ["tiny_gpt2", "tiny_bert"])
def test_cuda_scores_equal_cpu_scores(
    fixture: str, request: pytest.FixtureRequest, blimp_1000: list[dict]
) -> None:
    folder: Path = request.getfixturevalue(fixture)
    sentences = _sentences(blimp_1000[::5])
    cpu = MinimalPairScorer(load_scoring_model(folder)).sentence_scores(sentences)
    gpu_model = load_scoring_model(folder).to("cuda")
    assert gpu_model.device.type == "cuda"
    gpu = MinimalPairScorer(gpu_model).sentence_scores(sentences)
    # TF32 may be off or on in matmuls; both stay far inside the minicons tolerance (1e-4/token).
    np.testing.assert_allclose(gpu, cpu, atol=1e-3, rtol=1e-5)


def test_evaluate_runs_on_cuda_by_default_and_keys_ignore_the_device(
    tiny_gpt2: Path, data_root: Path
) -> None:
    auto = evaluate(tiny_gpt2, ["blimp"], data_root=data_root, settings=EvalSettings(limit=5))
    cpu = evaluate(
        tiny_gpt2, ["blimp"], data_root=data_root, settings=EvalSettings(limit=5, device="cpu")
    )
    assert auto.key == cpu.key
    assert auto.results[0].n == cpu.results[0].n == 335
    assert abs(auto.results[0].score - cpu.results[0].score) <= 1 / 335


def test_finetune_runs_on_cuda_in_bf16_with_grouped_batches(
    tiny_bert: Path, data_root: Path
) -> None:
    from trainers.evaluate.finetune import FINETUNE_TASKS, FinetuneSettings, finetune_task

    model = load_scoring_model(tiny_bert).to("cuda")
    settings = FinetuneSettings(max_train=64, max_valid=32, epochs=2, batch_size=8, max_length=64)
    result = finetune_task(model, FINETUNE_TASKS["rte"], data_root, settings)
    assert (result.n, result.extra["n_train"], result.extra["epochs"]) == (32, 64, 2)
    assert 0.0 <= result.score <= 1.0 and result.extra["best_epoch"] in (1.0, 2.0)
    assert model.device.type == "cuda"  # the scored model stays where it was


@pytest.mark.parametrize("compute", ["tf32", "bf16"])
@pytest.mark.parametrize("fixture", ["tiny_gpt2", "tiny_bert"])
def test_cuda_reduced_precision_stays_close_and_restores_tf32(
    fixture: str, compute: Compute, request: pytest.FixtureRequest, blimp_1000: list[dict]
) -> None:
    from tests.evaluate.test_compute import PER_TOKEN_TOLERANCE
    from trainers.evaluate.compute import matmul_precision_state

    model = load_scoring_model(request.getfixturevalue(fixture)).to("cuda")
    sentences = _sentences(blimp_1000[::5])
    exact = MinimalPairScorer(model)
    tokens = np.array([len(t) for t in exact.token_logprobs(sentences)])
    before = matmul_precision_state()
    fast = MinimalPairScorer(model, compute=compute).sentence_scores(sentences)
    assert matmul_precision_state() == before
    assert not torch.is_autocast_enabled("cuda")
    delta = np.abs(fast - exact.sentence_scores(sentences))
    assert (delta <= PER_TOKEN_TOLERANCE * tokens).all(), delta.max()
