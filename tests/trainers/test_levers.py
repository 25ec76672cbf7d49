"""Throughput levers: chunked output head + cross-entropy, torch.compile modes with static shapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.trainers.helpers import tiny_config
from trainers import train as train_module
from trainers.errors import TrainConfigError
from trainers.models import build_model
from trainers.models.layers import ModelArgs
from trainers.objectives import IGNORE, Batch, model_summed_loss, pad_batch
from trainers.train import train

TOLERANCE = {torch.float64: (1e-12, 1e-12), torch.float32: (2e-5, 2e-6)}  # (rtol, atol)


def _model(arch: str, dtype: torch.dtype) -> torch.nn.Module:
    torch.manual_seed(0)
    args = ModelArgs(
        arch=arch, vocab_size=97, n_layer=2, n_head=4, d_model=32, d_ff=64, block_size=16
    )
    return build_model(args).to(dtype).train()


def _loss_and_grads(
    model: torch.nn.Module, chunk: int, inputs: torch.Tensor, targets: torch.Tensor, **kw: Any
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    loss = model_summed_loss(model, inputs, targets, chunk, **kw)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}  # type: ignore[union-attr]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("arch", ["gpt", "ltgbert", "gptbert"])
@pytest.mark.parametrize("chunk", [1, 7, 24, 1000])  # one token, a non-divisor, a divisor, > B·T
def test_chunked_loss_and_gradients_equal_the_one_pass_ones(
    arch: str, dtype: torch.dtype, chunk: int
) -> None:
    model = _model(arch, dtype)
    gen = torch.Generator().manual_seed(1)
    inputs = torch.randint(5, 97, (3, 16), generator=gen)
    targets = torch.randint(5, 97, (3, 16), generator=gen)
    targets[torch.rand(3, 16, generator=gen) < 0.3] = IGNORE  # ignored targets weigh nothing
    kw: dict[str, Any] = {"causal": torch.tensor([True, False, True])} if arch == "gptbert" else {}
    loss, grads = _loss_and_grads(model, 0, inputs, targets, **kw)
    chunked, chunked_grads = _loss_and_grads(model, chunk, inputs, targets, **kw)
    rtol, atol = TOLERANCE[dtype]
    torch.testing.assert_close(chunked, loss, rtol=rtol, atol=atol)
    assert grads.keys() == chunked_grads.keys() and len(grads) > 5
    for name, grad in grads.items():
        torch.testing.assert_close(chunked_grads[name], grad, rtol=rtol, atol=atol, msg=name)
    assert grads["embed_tokens.weight"].abs().sum() > 0  # the tied head learns through chunks
    with torch.no_grad():  # validation: the plain chunk loop, no checkpointing
        no_grad = model_summed_loss(model, inputs, targets, chunk, **kw)
    torch.testing.assert_close(no_grad, loss, rtol=rtol, atol=atol)


def test_pad_batch_appends_ignored_pad_rows() -> None:
    batch = Batch(torch.tensor([[7, 8, 9]]), torch.tensor([[8, IGNORE, 10]]), torch.tensor([False]))
    padded = pad_batch(batch, 3)
    assert padded.inputs.tolist() == [[7, 8, 9], [0, 0, 0], [0, 0, 0]]
    assert padded.targets.tolist() == [[8, IGNORE, 10], [IGNORE] * 3, [IGNORE] * 3]
    assert padded.causal is not None and padded.causal.tolist() == [False, True, True]
    assert pad_batch(batch, 1) is batch
    assert pad_batch(Batch(batch.inputs, batch.targets), 2).causal is None


def _losses(run: Path, key: str) -> list[float]:
    lines = (run / "log.jsonl").read_text().splitlines()
    return [r[key] for r in map(json.loads, lines) if key in r]


def test_chunked_training_follows_the_one_pass_curve(
    finished_runs: dict[str, Path], tiny_build: Path, tmp_path: Path
) -> None:
    run = train(tiny_build, tiny_config("loss_chunk_tokens=100"), tmp_path)
    assert run.name != finished_runs["gpt"].name  # a hashed field: its own run directory
    for key in ("loss", "val_loss"):
        expected = _losses(finished_runs["gpt"], key)
        assert _losses(run, key) == pytest.approx(expected, rel=1e-4)


def test_static_modes_compile_for_one_shape_and_pad_validation(
    tiny_build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # torch.compile is replaced by a recorder (compiling on CPU takes minutes; the slow test
    # below compiles for real): this checks what the loop asks of it and what it feeds it.
    calls: list[dict[str, Any]] = []
    shapes: set[tuple[int, ...]] = set()

    def fake_compile(fn: Callable[..., torch.Tensor], **options: Any) -> Callable[..., Any]:
        calls.append(options)

        def traced(inputs: torch.Tensor, targets: torch.Tensor, **kw: Any) -> torch.Tensor:
            shapes.update({tuple(inputs.shape), tuple(targets.shape)})
            return fn(inputs, targets, **kw)

        return traced

    monkeypatch.setattr(train_module.torch, "compile", fake_compile)
    # 5 held-out blocks against batches of 8: validation would see a (5, 32) batch unpadded.
    extra = ("eval_blocks=5", "max_steps=12")
    eager = train(tiny_build, tiny_config(*extra), tmp_path / "eager")
    assert calls == [] and shapes == set()
    mode = "max-autotune-no-cudagraphs"
    run = train(tiny_build, tiny_config(*extra, f"compile={mode}"), tmp_path / "static")
    assert calls == [{"mode": mode, "dynamic": False}]
    assert shapes == {(8, 32)}
    assert _losses(run, "loss") == _losses(eager, "loss")  # the same eager ops underneath
    assert _losses(run, "val_loss") == pytest.approx(_losses(eager, "val_loss"), rel=1e-6)


def test_compile_modes_are_opt_in_values_with_near_match_hints() -> None:
    assert tiny_config("compile=max-autotune", "grad_accum=1").compile == "max-autotune"
    with pytest.raises(TrainConfigError) as info:
        tiny_config("compile=max_autotune")
    message = str(info.value)
    assert message.startswith("--set compile: Input should be 'auto', 'on', 'off', ")
    assert "(got 'max_autotune') (hint: did you mean max-autotune? compile takes one of " in message
    with pytest.raises(TrainConfigError) as info:
        tiny_config("compile=reduce-overhead", "grad_accum=2")
    assert str(info.value) == (
        "--set compile: compile=reduce-overhead captures CUDA graphs, which cannot accumulate "
        "gradients (grad_accum=2) (hint: set grad_accum=1 (loss_chunk_tokens frees memory for a "
        "bigger batch_size), or use compile=max-autotune-no-cudagraphs)"
    )
    assert tiny_config("compile=max-autotune-no-cudagraphs", "grad_accum=2").grad_accum == 2


def test_new_fields_keep_existing_hashes_until_set() -> None:
    # c119924c8c5c: tiny.yaml's hash before loss_chunk_tokens existed (runs and leaderboard keys).
    base = tiny_config()
    assert base.hash == "c119924c8c5c"
    assert tiny_config("loss_chunk_tokens=0").hash == base.hash
    assert tiny_config("loss_chunk_tokens=512").hash != base.hash
    assert tiny_config("compile=max-autotune-no-cudagraphs").hash != base.hash
    assert tiny_config("rel_buckets=clip").hash == base.hash
    assert tiny_config("rel_buckets=log").hash != base.hash
    assert "loss_chunk_tokens: 0" in base.to_yaml()  # the resolved config still shows it


@pytest.mark.slow
def test_compiled_static_run_resumes_exactly(tiny_build: Path, tmp_path: Path) -> None:
    # Real inductor on CPU (minutes): reduce-overhead has no CUDA graphs on CPU, the rest of
    # its path (static shapes, padded validation) is the one a GPU takes.
    config = tiny_config(
        "compile=reduce-overhead",
        "loss_chunk_tokens=100",
        "eval_blocks=5",
        "checkpoint_interval=10",
    )
    reference = train(tiny_build, config, tmp_path / "a")
    run = train(tiny_build, config, tmp_path / "b", stop_after=15)
    (run / "checkpoints" / "step-0000015.pt").unlink()
    train(tiny_build, config, tmp_path / "b")
    for key in ("loss", "val_loss"):
        assert _losses(run, key) == _losses(reference, key)
        assert len(_losses(run, key)) == (30 if key == "loss" else 3)


@pytest.mark.parametrize("chunk", [0, 16])
def test_chunked_loss_saves_no_logits_for_backward(chunk: int) -> None:
    # What autograd saves for backward (seen through saved-tensor hooks): one pass keeps
    # (B·T, V) tensors; the chunked path keeps none (backward recomputes one chunk at a time).
    model = _model("gpt", torch.float32)
    inputs, targets = torch.randint(5, 97, (3, 16)), torch.randint(5, 97, (3, 16))
    saved: list[tuple[int, ...]] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(tuple(t.shape))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model_summed_loss(model, inputs, targets, chunk)
    loss.backward()
    vocab_rows = [shape[0] for shape in saved if len(shape) == 2 and shape[1] == 97]
    assert max(vocab_rows, default=0) == (48 if chunk == 0 else 0)
