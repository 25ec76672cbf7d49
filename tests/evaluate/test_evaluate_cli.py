"""``corpuskit evaluate``: any saved model on the tasks, cached per model, as a leaderboard row."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpuskit.cli import app
from tests.evaluate.helpers import OWN_TEXT, save_tiny_gpt2, save_trainer_export
from trainers.evaluate.models import load_scoring_model
from trainers.evaluate.runner import evaluate
from trainers.model_eval import evaluate_model, model_digest

TASK_FILE = Path(__file__).parents[1] / "data" / "evaluate" / "agreement.jsonl"


@pytest.fixture(scope="module")
def gpt2_folders(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two tiny GPT-2s with different weights (seeds 0 and 1)."""
    root = tmp_path_factory.mktemp("gpt2")
    return [save_tiny_gpt2(root / f"seed{s}", OWN_TEXT * 5, seed=s) for s in (0, 1)]


@pytest.fixture(scope="module")
def ltgbert_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ltgbert export copied without trainers.json: an HF folder with its own model code."""
    folder = tmp_path_factory.mktemp("ltgbert") / "model"
    save_trainer_export(folder, "ltgbert", OWN_TEXT * 5, seed=2)
    (folder / "trainers.json").unlink()
    return folder


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["evaluate", *args])
    return result.exit_code, result.output


def _accuracy(output: str, task: str) -> str:
    (line,) = [line for line in output.splitlines() if line.startswith(f"│ {task} ")]
    return line.split("│")[3].strip()


def test_evaluate_scores_a_model_as_the_python_api_does(gpt2_folders: list[Path]) -> None:
    folder = gpt2_folders[0]
    code, output = _invoke(str(folder), "--tasks", str(TASK_FILE), "--device", "cpu")
    assert code == 0, output
    (result,) = evaluate(load_scoring_model(folder), [str(TASK_FILE)]).results
    assert _accuracy(output, result.task) == f"{100 * result.score:.1f}"
    assert f"[causal, digest {model_digest(folder)}]" in output
    assert "(not cached)" in output


def test_cache_is_per_model(gpt2_folders: list[Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = [evaluate_model(f, [str(TASK_FILE)], cache_dir=cache) for f in gpt2_folders]
    again = [evaluate_model(f, [str(TASK_FILE)], cache_dir=cache) for f in gpt2_folders]
    assert [o.eval.cached for o in first] == [False, False]
    assert [o.eval.cached for o in again] == [True, True]
    # Two models in one cache folder keep their own results (per-sentence scores differ).
    paths = {o.eval.path for o in first}
    assert len(paths) == 2
    assert [o.eval.path for o in again] == [o.eval.path for o in first]
    stored = [json.loads(p.read_text())["results"][0]["n"] for p in paths if p is not None]
    assert stored == [6, 6]


def test_a_renamed_copy_has_the_same_digest(gpt2_folders: list[Path], tmp_path: Path) -> None:
    copy = Path(shutil.copytree(gpt2_folders[0], tmp_path / "elsewhere"))
    assert model_digest(copy) == model_digest(gpt2_folders[0])
    assert model_digest(gpt2_folders[1]) != model_digest(gpt2_folders[0])


def test_baseline_row_on_the_leaderboard(gpt2_folders: list[Path], tmp_path: Path) -> None:
    db = tmp_path / "lb.sqlite"
    common = ["--tasks", str(TASK_FILE), "--limit", "4", "--db", str(db), "--device", "cpu"]
    for folder, name in zip(gpt2_folders, ("gpt2-a", "gpt2-b"), strict=True):
        code, output = _invoke(str(folder), *common, "--leaderboard", name)
        assert code == 0, output
        assert f"row    {db}: recipe {model_digest(folder)} · train model · eval 1.0 · seed 0" in (
            output
        )
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT recipe_name, train_hash, config_name, objective FROM runs ORDER BY 1"
        ).fetchall()
        tasks = {t for (t,) in conn.execute("SELECT DISTINCT task FROM scores")}
    assert rows == [
        ("gpt2-a", "model", "(saved model)", "causal"),
        ("gpt2-b", "model", "(saved model)", "causal"),
    ]
    assert tasks == {"agreement@4"}  # a subset never mixes with full scores
    result = CliRunner().invoke(app, ["leaderboard", "--db", str(db), "--plain"])
    assert result.exit_code == 0, result.output
    names = [line.split("\t")[0] for line in result.output.splitlines()[1:]]
    assert [n.split()[0] for n in names] == ["gpt2-a", "gpt2-b"]


def test_remote_code_needs_the_flag(ltgbert_folder: Path) -> None:
    code, output = _invoke(str(ltgbert_folder), "--tasks", str(TASK_FILE), "--device", "cpu")
    assert code == 2
    assert output.strip() == (
        f"error: {ltgbert_folder / 'config.json'}: the model's code is saved in its folder "
        "(config.json has an auto_map) and running it was not allowed (hint: if you trust the "
        ".py files next to config.json, pass trust_remote_code=True (corpuskit evaluate: "
        "--trust-remote-code))"
    )
    code, output = _invoke(
        str(ltgbert_folder), "--tasks", str(TASK_FILE), "--device", "cpu", "--trust-remote-code"
    )
    assert code == 0, output
    assert "[masked, digest" in output


def test_a_run_directory_stands_for_its_model(tmp_path: Path, gpt2_folders: list[Path]) -> None:
    run = tmp_path / "run"
    save_trainer_export(run / "model", "gpt", OWN_TEXT * 5, layers=1)
    outcome = evaluate_model(run, [str(TASK_FILE)])
    assert outcome.path == run / "model" and outcome.objective == "causal"


def test_bad_options_are_one_line_errors(gpt2_folders: list[Path]) -> None:
    code, output = _invoke(str(gpt2_folders[0]), "--objective", "hybrid")
    assert (code, output.strip()) == (
        2,
        "error: --objective 'hybrid' is not one of causal, masked",
    )
    code, output = _invoke(str(gpt2_folders[0].parent / "nowhere"), "--tasks", str(TASK_FILE))
    assert code == 2 and output.startswith("error: ") and "model folder does not exist" in output


def test_a_hub_id_gets_a_download_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no network at run time: scoring reads folders only
    code, output = _invoke("ltg/ltg-bert-babylm", "--tasks", str(TASK_FILE))
    assert code == 2
    assert output.strip() == (
        "error: ltg/ltg-bert-babylm: model folder does not exist (looked for "
        "ltg/ltg-bert-babylm) (hint: to score the Hub model ltg/ltg-bert-babylm, download it "
        "first: huggingface-cli download ltg/ltg-bert-babylm --local-dir models/ltg-bert-babylm)"
    )
