"""``corpuskit train`` (entry-point plugin) and ``python -m trainers.train``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpuskit.cli import app
from trainers.cli_train import main


def test_corpuskit_train_prints_the_run_dir(tiny_build: Path, tmp_path: Path) -> None:
    args = [
        "train",
        str(tiny_build),
        "--config",
        "tiny.yaml",
        "--set",
        "max_steps=3",
        "--set",
        "quiet=true",
        "--runs-dir",
        str(tmp_path),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    run = Path(result.stdout.strip().splitlines()[-1])
    assert run.parent.parent == tmp_path / "toy" and (run / "metrics.json").is_file()


def test_corpuskit_train_bad_key_exits_2_with_one_line(tiny_build: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", str(tiny_build), "--set", "batchsize=4", "--runs-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --set batchsize: unknown config key 'batchsize' (hint: did you mean batch_size?)\n"
    )


def test_python_m_trainers_train(
    tiny_build: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [
        "trainers.train",
        str(tiny_build),
        "-c",
        "tiny.yaml",
        "-s",
        "max_steps=2",
        "-s",
        "quiet=true",
        "--runs-dir",
        str(tmp_path),
    ]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 0
    assert (Path(capsys.readouterr().out.strip()) / "model" / "config.json").is_file()
