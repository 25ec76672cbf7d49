"""The trainer-throughput benchmark: variants of our trainer, both HF baselines, the table."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import math

import torch
import trainer_throughput
from trainer_throughput import guarded, loss_memory, variants

SHARED = ["quiet=true", "max_steps=4"]


def test_variants_are_labelled_and_keep_the_model_shape() -> None:
    mine = variants("tiny.yaml", SHARED, ["", "loss_chunk_tokens=64 batch_size=4 grad_accum=2"])
    assert list(mine) == ["trainers", "trainers [loss_chunk_tokens=64 batch_size=4 grad_accum=2]"]
    assert mine["trainers"].loss_chunk_tokens == 0 and mine["trainers"].batch_size == 8
    changed = mine["trainers [loss_chunk_tokens=64 batch_size=4 grad_accum=2]"]
    assert (changed.loss_chunk_tokens, changed.batch_size, changed.grad_accum) == (64, 4, 2)
    with pytest.raises(SystemExit, match="--ours 'n_layer=3' changes the model shape"):
        variants("tiny.yaml", SHARED, ["n_layer=3"])


def test_a_run_out_of_gpu_memory_becomes_a_zero_row(capsys: pytest.CaptureFixture[str]) -> None:
    def too_big(*args: object) -> dict[str, float | None]:
        raise torch.OutOfMemoryError("CUDA out of memory")

    result = guarded("trainers [batch_size=4096]", too_big, "build", "config")
    assert result["tokens_per_s"] == 0.0 and math.isnan(float(result["loss"] or 0))
    assert capsys.readouterr().err == "trainers [batch_size=4096]: out of GPU memory\n"
    assert guarded("x", lambda n: {"tokens_per_s": n, "loss": 1.0, "peak_gib": None}, 5.0) == {
        "tokens_per_s": 5.0,
        "loss": 1.0,
        "peak_gib": None,
    }


@pytest.mark.parametrize("chunk", [0, 64])
def test_loss_memory_probe_runs_one_step_at_the_config_shape(chunk: int) -> None:
    config = variants("tiny.yaml", SHARED, [""])["trainers"]
    result = loss_memory(config, chunk)
    assert result["chunk"] == chunk and result["seconds"] > 0 and result["added_mib"] >= 0


@pytest.mark.slow
def test_one_cpu_run_prints_every_row_and_ratio(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["x", "--steps", "4", "--repeat", "1", "--hf-compile", "off"]
    monkeypatch.setattr(sys, "argv", [*argv, "--ours", "", "loss_chunk_tokens=64"])
    trainer_throughput.main()
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines() if "| tiny" in line]
    labels = [row[1] for row in rows]
    assert labels == [
        "trainers",
        "trainers [loss_chunk_tokens=64]",
        "HF Trainer (defaults, no compile)",
        "ratio / HF defaults",
        "ratio [loss_chunk_tokens=64] / HF defaults",
        "strict-small 10 ep (fastest trainers)",
    ]
    speed = {row[1]: float(row[2].replace(",", "")) for row in rows[:3]}
    assert all(v > 0 for v in speed.values())
    ours, hf = speed["trainers"], speed["HF Trainer (defaults, no compile)"]
    # The table rounds tokens/s to integers and the ratio to 2 decimals: allow exactly that.
    slack = 0.005 + ours / hf * (0.5 / ours + 0.5 / hf) * 1.01
    assert float(rows[3][2].removesuffix("x")) == pytest.approx(ours / hf, abs=slack), rows
    assert rows[0][4] == rows[1][4]  # chunked: the same mean loss to 3 decimals
