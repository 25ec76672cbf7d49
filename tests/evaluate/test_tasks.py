"""Task definitions and loaders: user files, EWoK from the zip, caching, and one-line errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpuskit.cli import app
from corpuskit.errors import CorpuskitError
from trainers.evaluate.errors import EwokError, ScoringModelError, TaskError
from trainers.evaluate.ewok import build_items, read_config
from trainers.evaluate.models import load_scoring_model
from trainers.evaluate.runner import EvalSettings, evaluate
from trainers.evaluate.tasks import BLIMP, EWOK, load_pairs, resolve_task

DATA = Path(__file__).parents[1] / "data" / "evaluate"


def _one_line(exc: CorpuskitError) -> str:
    text = exc.one_line()
    assert "\n" not in text
    return text


def test_blimp_definition_reads_every_paradigm(data_root: Path) -> None:
    pairs = load_pairs(BLIMP, data_root, limit=2)
    assert len(pairs) == 134 and len({p.groups["UID"] for p in pairs}) == 67
    assert pairs[0].groups == {
        "UID": "adjunct_island",
        "field": "syntax",
        "linguistics_term": "island_effects",
    }


def test_task_file_with_a_missing_field_is_a_located_error() -> None:
    spec = resolve_task(str(DATA / "missing_field.jsonl"))
    with pytest.raises(TaskError) as info:
        load_pairs(spec, None)
    assert _one_line(info.value).startswith(
        f"{DATA / 'missing_field.jsonl'}:2: missing field 'sentence_bad'"
    )


def test_task_yaml_errors_are_located(tmp_path: Path) -> None:
    bad = tmp_path / "task.yaml"
    bad.write_text("name: x\nfiles: [a.jsonl]\ngroup_by: phenomenon\n")
    with pytest.raises(TaskError) as info:
        resolve_task(str(bad))
    assert _one_line(info.value).startswith(f"{bad}: version: Field required")
    with pytest.raises(TaskError, match="did you mean blimp"):
        resolve_task("blmip")


def test_score_cli_rejects_a_broken_task_file_before_building(
    tmp_path: Path, data_root: Path
) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: r\nsources:\n  - kind: text\n    paths: [{tmp_path / 'x.txt'}]\n")
    args = [
        "score",
        str(recipe),
        "--train",
        "tiny.yaml",
        "--tasks",
        str(DATA / "missing_field.jsonl"),
        "--out",
        str(tmp_path / "out"),
        "--data-root",
        str(data_root),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert (
        result.output.count("\n") == 1
        and "missing_field.jsonl:2: missing field 'sentence_bad'" in result.output
    )
    assert not (tmp_path / "out").exists()


def test_model_folder_without_a_tokenizer_is_a_located_error(
    tiny_gpt2: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "no-tokenizer"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_gpt2 / name, folder / name)
    with pytest.raises(ScoringModelError) as info:
        load_scoring_model(folder)
    assert _one_line(info.value).startswith(f"{folder}: model folder has no tokenizer")


def test_ewok_wrong_password_is_a_located_error(data_root: Path) -> None:
    path = data_root / "ewok" / "ewok-config.zip"
    with pytest.raises(EwokError) as info:
        read_config(path, password=b"not-the-password")
    text = _one_line(info.value)
    assert text.startswith(f"{path}: cannot decrypt the EWoK config") and "Bad password" in text


def test_ewok_items_are_built_in_memory_deterministically(data_root: Path) -> None:
    config = read_config(data_root / "ewok" / "ewok-config.zip")
    items = build_items(config)
    assert items == build_items(config)
    assert len(items) == 413 and len({i["Domain"] for i in items}) == 11
    for item in items:
        assert item["Context1"] != item["Context2"] and item["Target1"] != item["Target2"]
        assert "[" not in "".join(item.values()) and "{" not in "".join(item.values())


def test_ewok_and_user_tasks_through_evaluate_then_cached(
    tiny_gpt2: Path, data_root: Path, tmp_path: Path
) -> None:
    tasks = ["ewok", str(DATA / "agreement.yaml")]
    settings = EvalSettings(limit=3)
    first = evaluate(tiny_gpt2, tasks, data_root=data_root, settings=settings, cache_dir=tmp_path)
    ewok, user = first.results
    assert (ewok.task, ewok.n, len(ewok.groups["Domain"])) == ("ewok", 2 * 3 * 11, 11)
    assert (user.task, user.n) == ("toy_agreement", 3)  # the limit applies per file
    full = evaluate(tiny_gpt2, tasks[1:], data_root=data_root).results[0]
    assert full.n == 6 and set(full.groups["phenomenon"]) == {"agreement", "word_order"}
    assert full.groups["phenomenon"]["agreement"].n == 4
    second = evaluate(tiny_gpt2, tasks, data_root=data_root, settings=settings, cache_dir=tmp_path)
    assert second.cached and not first.cached and second.key == first.key
    assert [r.to_dict() for r in second.results] == [r.to_dict() for r in first.results]
    other = evaluate(
        tiny_gpt2,
        tasks[:1],
        data_root=data_root,
        settings=EvalSettings(limit=2),
        cache_dir=tmp_path,
    )
    assert not other.cached and other.results[0].n == 2 * 2 * 11
    assert EWOK.version == 1
