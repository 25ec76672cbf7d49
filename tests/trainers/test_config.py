"""TrainConfig: YAML + overrides, typed errors with hints, the hash, the packaged configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from corpuskit.errors import CorpuskitError
from trainers.config import CONFIG_DIR, TrainConfig
from trainers.errors import TrainConfigError
from trainers.models import build_model, count_params
from trainers.models.layers import ModelArgs


def test_tiny_yaml_and_overrides_are_typed() -> None:
    config = TrainConfig.load("tiny.yaml", ["--lr=3e-4", "arch=gptbert", "--set-me=1"][:2])
    assert (config.n_layer, config.d_model, config.max_steps) == (2, 64, 30)
    assert config.lr == 3e-4 and isinstance(config.lr, float)
    assert config.arch == "gptbert" and config.objective == "hybrid"


def test_on_off_words_stay_words(tmp_path: Path) -> None:
    assert TrainConfig.load("tiny.yaml", ["compile=on"]).compile == "on"
    path = tmp_path / "c.yaml"
    path.write_text("compile: off\n")  # YAML 1.1 would read a boolean
    assert TrainConfig.load(path, []).compile == "off"


def test_unknown_key_suggests_the_near_match() -> None:
    with pytest.raises(TrainConfigError) as info:
        TrainConfig.load("tiny.yaml", ["n_layers=4"])
    assert isinstance(info.value, CorpuskitError)
    assert (
        str(info.value)
        == "--set n_layers: unknown config key 'n_layers' (hint: did you mean n_layer?)"
    )


def test_unknown_key_in_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("arch: gpt\nwarmup_step: 10\n")
    with pytest.raises(TrainConfigError) as info:
        TrainConfig.load(path, [])
    assert str(info.value) == (
        f"{path}: unknown config key 'warmup_step' (hint: did you mean warmup_steps?)"
    )


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "n_layer=two",
            "--set n_layer: Input should be a valid integer, unable to parse string "
            "as an integer (got 'two') (hint: n_layer takes int: transformer blocks)",
        ),
        (
            "arch=bert",
            "--set arch: Input should be 'gpt', 'ltgbert' or 'gptbert' (got 'bert') "
            "(hint: arch takes one of gpt/ltgbert/gptbert: causal / masked / hybrid)",
        ),
        (
            "epochs=11",
            "--set epochs: Input should be less than or equal to 10 (got 11) "
            "(hint: epochs takes int: passes over the data (BabyLM cap: 10))",
        ),
        ("lr", "override 'lr' is not key=value (hint: write e.g. --set lr=3e-4)"),
    ],
)
def test_bad_values_are_one_line_errors(override: str, expected: str) -> None:
    with pytest.raises(TrainConfigError) as info:
        TrainConfig.load("tiny.yaml", [override])
    assert str(info.value) == expected
    assert "\n" not in str(info.value)


def test_heads_must_split_the_width() -> None:
    with pytest.raises(TrainConfigError, match="does not split into 3 heads"):
        TrainConfig.load("tiny.yaml", ["n_head=3"])


def test_hash_ignores_bookkeeping_but_not_training_fields() -> None:
    base = TrainConfig.load("tiny.yaml", [])
    assert len(base.hash) == 12 and int(base.hash, 16) >= 0
    assert TrainConfig.load("tiny.yaml", ["log_interval=7", "quiet=true"]).hash == base.hash
    assert TrainConfig.load("tiny.yaml", ["seed=1"]).hash != base.hash
    assert TrainConfig.load(None, []).hash == TrainConfig().hash


@pytest.mark.parametrize(
    ("name", "low", "high"), [("babylm-small.yaml", 25e6, 35e6), ("babylm-base.yaml", 115e6, 135e6)]
)
def test_packaged_configs_have_the_advertised_size(name: str, low: float, high: float) -> None:
    config = TrainConfig.load(CONFIG_DIR / name, [])
    with torch.device("meta"):  # shapes only: no memory, no init cost
        model = build_model(ModelArgs.from_config(config))
    assert low <= count_params(model) <= high


def test_every_field_has_a_description() -> None:
    assert all(f.description for f in TrainConfig.model_fields.values())
