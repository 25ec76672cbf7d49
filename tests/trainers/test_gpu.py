"""Training on a CUDA device in bf16 with torch.compile (deselected by default: ``-m gpu``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.trainers.helpers import ARCHS, tiny_config
from trainers.models import load_model
from trainers.train import train

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.mark.parametrize("arch", ARCHS)
def test_each_arch_trains_on_cuda_in_bf16_compiled(
    arch: str, tiny_build: Path, tmp_path: Path
) -> None:
    config = tiny_config(f"arch={arch}", "device=cuda", "precision=bf16", "compile=on")
    run = train(tiny_build, config, tmp_path)
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in log if "loss" in r]
    assert len(losses) == 30
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["device"] != "cpu" and 0 < metrics["mfu"] < 1


def test_cuda_resume_reproduces_the_uninterrupted_run(tiny_build: Path, tmp_path: Path) -> None:
    config = tiny_config("device=cuda", "precision=bf16", "compile=off", "checkpoint_interval=10")
    reference = train(tiny_build, config, tmp_path / "a")
    run = train(tiny_build, config, tmp_path / "b", stop_after=15)
    (run / "checkpoints" / "step-0000015.pt").unlink()
    train(tiny_build, config, tmp_path / "b")

    def curve(r: Path) -> list[float]:
        lines = (r / "log.jsonl").read_text().splitlines()
        return [json.loads(line)["loss"] for line in lines if '"loss"' in line]

    # Same kernels, same order, same seed: bitwise-equal losses are expected on one GPU.
    assert curve(run) == curve(reference)
    (m1, _), (m2, _) = load_model(run / "model"), load_model(reference / "model")
    ids = torch.randint(5, 100, (2, 16))
    assert torch.equal(m1(ids), m2(ids))


def test_cuda_graph_mode_with_chunked_loss_trains_like_eager_and_resumes(
    tiny_build: Path, tmp_path: Path
) -> None:
    # reduce-overhead: CUDA graphs (grad_accum=1), static shapes with a padded last validation
    # batch (5 held-out blocks, batches of 8), chunked head + cross-entropy. Compiled kernels may
    # use atomics, so the comparison is close, not bitwise.
    cuda = ("device=cuda", "precision=bf16", "eval_blocks=5")
    eager = train(tiny_build, tiny_config(*cuda, "compile=off"), tmp_path / "a")
    levers = ("compile=reduce-overhead", "loss_chunk_tokens=100", "checkpoint_interval=10")
    config = tiny_config(*cuda, *levers)
    run = train(tiny_build, config, tmp_path / "b", stop_after=15)
    (run / "checkpoints" / "step-0000015.pt").unlink()
    train(tiny_build, config, tmp_path / "b")

    def values(r: Path, key: str) -> list[float]:
        lines = (r / "log.jsonl").read_text().splitlines()
        return [rec[key] for rec in map(json.loads, lines) if key in rec]

    for key, count in (("loss", 30), ("val_loss", 3)):
        assert len(values(run, key)) == count
        assert values(run, key) == pytest.approx(values(eager, key), rel=0.03)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 30 and 0 < metrics["mfu"] < 1
