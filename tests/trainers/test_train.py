"""The loop end to end on a tiny build: loss falls, exact resume, cache, export, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import corpuskit
from corpuskit.errors import FormatVersionError
from tests.trainers.helpers import ARCHS, tiny_config
from trainers.errors import EmptyBuildError, ResumeMismatchError, TrainConfigError
from trainers.models import load_model
from trainers.train import train


def _log(run: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def _curve(run: Path) -> list[object]:
    # Everything but wall-clock figures must match exactly.
    return [{k: v for k, v in r.items() if k not in ("tokens_per_s", "mfu")} for r in _log(run)]


@pytest.mark.parametrize("arch", ARCHS)
def test_each_arch_trains_and_its_loss_falls(finished_runs: dict[str, Path], arch: str) -> None:
    run = finished_runs[arch]
    losses = [r["loss"] for r in _log(run) if "loss" in r]
    assert len(losses) == 30
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3
    vals = [r["val_loss"] for r in _log(run) if "val_loss" in r]
    assert len(vals) == 3 and vals[-1] < vals[0]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 30 and metrics["tokens"] == 30 * 8 * 32
    assert metrics["flops_per_token"] > 0 and "6·N" in metrics["flops_formula"]
    assert metrics["config_hash"] == run.name and metrics["recipe_hash"] == run.parent.name
    for name in ("config.yaml", "versions.json", "build.json", "model/trainers.json"):
        assert (run / name).is_file()
    assert json.loads((run / "versions.json").read_text())["corpuskit"] == corpuskit.__version__
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-0000030.pt"]


def test_finished_run_is_returned_from_cache(
    finished_runs: dict[str, Path], tiny_build: Path, runs_dir: Path
) -> None:
    run = finished_runs["gpt"]
    stamp = (run / "metrics.json").stat().st_mtime_ns
    assert train(tiny_build, tiny_config("arch=gpt", "log_interval=5"), runs_dir) == run
    assert (run / "metrics.json").stat().st_mtime_ns == stamp


@pytest.mark.parametrize(
    ("arch", "extra"),
    [("gpt", ()), ("gptbert", ("dropout=0.1",)), ("gpt", ("loss_chunk_tokens=100",))],
)
def test_resume_reproduces_the_uninterrupted_run_exactly(
    finished_runs: dict[str, Path],
    tiny_build: Path,
    runs_dir: Path,
    tmp_path: Path,
    arch: str,
    extra: tuple[str, ...],
) -> None:
    # gpt: the reference is the session's finished run, trained without periodic checkpoints.
    # gptbert with dropout: the global RNG state matters too. Chunked loss: recomputed chunks.
    config = tiny_config(f"arch={arch}", "checkpoint_interval=10", *extra)
    reference = train(tiny_build, config, runs_dir)
    assert (arch != "gpt" or extra) or reference == finished_runs["gpt"]
    run = train(tiny_build, config, tmp_path / "b", stop_after=15)
    assert not (run / "metrics.json").exists()
    # A crash after step 15 but before its checkpoint: resume from step 10, drop logged 11..15.
    (run / "checkpoints" / "step-0000015.pt").unlink()
    assert train(tiny_build, config, tmp_path / "b") == run
    assert _curve(run) == _curve(reference)
    (m1, _), (m2, _) = load_model(run / "model"), load_model(reference / "model")
    ids = torch.randint(5, 100, (2, 16))
    assert torch.equal(m1(ids), m2(ids))


def test_exported_gpt_loads_with_auto_model_and_gives_equal_logits(
    finished_runs: dict[str, Path],
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = finished_runs["gpt"] / "model"
    ours, tok = load_model(folder)
    hf = AutoModelForCausalLM.from_pretrained(folder).eval()
    assert type(hf).__name__ == "LlamaForCausalLM"
    with torch.no_grad():
        single = tok(["the cat sees a song ."], return_tensors="pt")
        assert torch.allclose(ours(single.input_ids), hf(**single).logits, atol=1e-5)
        for side in ("right", "left"):  # padded batches agree on every real token
            tok.padding_side = side
            batch = tok(["the cat sees a song .", "a dog"], return_tensors="pt", padding=True)
            real = batch.attention_mask.bool()
            logits = ours(batch.input_ids, batch.attention_mask)
            assert torch.allclose(logits[real], hf(**batch).logits[real], atol=1e-5)
            alone = ours(tok(["a dog"], return_tensors="pt").input_ids)[0]
            assert torch.allclose(logits[1][real[1]], alone, atol=1e-5)
    auto_tok = AutoTokenizer.from_pretrained(folder)
    assert auto_tok("the cat").input_ids == tok("the cat").input_ids
    assert ours.objective == "causal"


@pytest.mark.parametrize(("arch", "objective"), [("ltgbert", "masked"), ("gptbert", "hybrid")])
def test_encoders_round_trip_through_load_model(
    finished_runs: dict[str, Path], arch: str, objective: str
) -> None:
    model, tok = load_model(finished_runs[arch] / "model")
    assert model.objective == objective and tok.mask_token_id == 4
    ids = tok(["the cat sees a song ."], return_tensors="pt").input_ids
    with torch.no_grad():
        logits = model(ids)
    assert logits.shape == (1, ids.shape[1], model.args.vocab_size)
    assert torch.isfinite(logits).all()


def test_unknown_format_version_is_refused(tiny_build: Path, tmp_path: Path) -> None:
    copy = tmp_path / "future"
    shutil.copytree(tiny_build, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, "format_version": "9.0"}))
    with pytest.raises(FormatVersionError, match="format version 9.0") as info:
        train(copy, tiny_config(), tmp_path / "runs")
    assert "hint:" in str(info.value) and "\n" not in str(info.value)


def test_empty_build_is_a_one_line_error(tmp_path: Path) -> None:
    recipe = corpuskit.Recipe(
        name="empty",
        sources=[corpuskit.DocumentsSource(documents=["tiny"])],
        filters=[corpuskit.WordCountFilter(min_words=5)],
    )
    path = recipe.build(out=tmp_path / "out").path
    with pytest.raises(EmptyBuildError) as info:
        train(path, tiny_config(), tmp_path / "runs")
    assert str(info.value) == (
        f"build {path} has no training documents "
        "(hint: check the recipe's filters and budget with `corpuskit inspect BUILD_DIR`)"
    )


def test_too_many_steps_for_the_epoch_cap(tiny_build: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainConfigError, match=r"max_steps=100000 needs more data than 10 epochs"):
        train(tiny_build, tiny_config("max_steps=100000"), tmp_path)


def test_resume_with_another_tokenizer_is_refused(tiny_build: Path, tmp_path: Path) -> None:
    config = tiny_config()
    run = train(tiny_build, config, tmp_path, stop_after=5)
    # The cached tokenizer changes under the run (e.g. retrained by another tokenizers version).
    (tok_json,) = (tmp_path / ".cache" / "tokenizers").glob("*/tokenizer.json")
    data = json.loads(tok_json.read_text())
    data["model"]["vocab"]["zzzz"] = len(data["model"]["vocab"])
    tok_json.write_text(json.dumps(data))
    with pytest.raises(ResumeMismatchError) as info:
        train(tiny_build, config, tmp_path)
    message = str(info.value)
    assert message.startswith(f"cannot resume from {run / 'checkpoints' / 'step-0000005.pt'}: ")
    assert "its tokenizer" in message and message.endswith("(or pass --no-resume))")
    assert "\n" not in message
    assert (train(tiny_build, config, tmp_path, resume=False) / "metrics.json").is_file()


def test_ltgbert_with_log_buckets_trains(tiny_build: Path, tmp_path: Path) -> None:
    # tiny.yaml's block of 32 with rel_positions=7: distances 5..31 share log buckets.
    config = tiny_config("arch=ltgbert", "rel_positions=7", "rel_buckets=log")
    run = train(tiny_build, config, tmp_path)
    losses = [r["loss"] for r in _log(run) if "loss" in r]
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3
    model, _ = load_model(run / "model")
    assert (model.args.rel_positions, model.args.rel_buckets) == (7, "log")
