"""The first mistakes a newcomer makes get one located line with a way out (exit 2, no traceback)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from corpuskit.cli import app

runner = CliRunner()
RECIPE = {
    "name": "mine",
    "sources": [{"kind": "text", "name": "books", "paths": ["gutenberg/*.txt"]}],
    "filters": [{"kind": "word_count", "min_words": 3}],
}


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def validate(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["validate", *args])
    return result.exit_code, result.stderr


def test_no_data_root_says_where_it_looked_and_how_to_get_the_data(
    chdir_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CORPUSKIT_DATA", raising=False)
    recipe = write(chdir_tmp / "mine.yaml", RECIPE)
    default = chdir_tmp / ".." / "shared" / "data"
    assert not default.exists()
    assert validate(str(recipe)) == (
        2,
        f"{recipe}:3 sources[0]: path 'gutenberg/*.txt' is relative to the data root, and none "
        f"was given (the default, {default}, does not exist) (hint: pass --data-root DIR or set "
        "CORPUSKIT_DATA=DIR; docs/data.md lists the files the seed recipes read and where to "
        "download each)\n",
    )


def test_a_data_root_that_does_not_exist_is_named_with_its_origin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORPUSKIT_DATA", str(tmp_path / "nowhere"))
    recipe = write(tmp_path / "mine.yaml", RECIPE)
    code, err = validate(str(recipe))
    assert (code, err.splitlines()[0]) == (
        2,
        f"error: data root '{tmp_path / 'nowhere'}' (from CORPUSKIT_DATA) does not exist (hint: "
        "pass --data-root DIR or set CORPUSKIT_DATA=DIR; docs/data.md lists the files the seed "
        "recipes read and where to download each)",
    )


def test_unknown_kind_suggests_a_near_match_or_how_to_name_your_own(tmp_path: Path) -> None:
    near = write(tmp_path / "near.yaml", {**RECIPE, "filters": [{"kind": "wordcount"}]})
    assert validate(str(near), "--data-root", str(tmp_path)) == (
        2,
        f"{near}:8 filters[0].kind: unknown filters kind 'wordcount' "
        "(hint: did you mean word_count or char_count?)\n",
    )
    far = write(tmp_path / "far.yaml", {**RECIPE, "filters": [{"kind": "xyzzy"}]})
    code, err = validate(str(far), "--data-root", str(tmp_path))
    assert code == 2
    assert err.startswith(f"{far}:8 filters[0].kind: unknown filters kind 'xyzzy' (hint: ")
    assert err.endswith(
        " known kinds; a step of your own is named as kind: package.module:ClassName)\n"
    )


def test_a_filter_of_your_own_is_named_by_import_path(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/writing-a-filter.md: `kind: my_filters:QuestionFilter` with the module importable."""
    (tmp_path / "newcomer_filters.py").write_text(
        textwrap.dedent(
            '''
            from corpuskit import Document, Filter


            class NewcomerQuestions(Filter, kind="newcomer_questions"):
                """Keep questions. Drop reasons: ``no_question``."""

                drop_reasons = ("no_question",)

                def keep(self, doc: Document) -> bool:
                    return "?" in doc.text
            '''
        )
    )
    data = {**RECIPE, "filters": [{"kind": "newcomer_filters:NewcomerQuestions"}]}
    recipe = write(tmp_path / "own.yaml", data)
    code, err = validate(str(recipe), "--data-root", str(data_root))
    assert (code, err) == (
        2,
        f"{recipe}:8 filters[0].kind: cannot import filters target "
        "'newcomer_filters:NewcomerQuestions': No module named 'newcomer_filters' "
        "(hint: use 'package.module:ClassName' with the package importable)\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    result = runner.invoke(app, ["validate", str(recipe), "--data-root", str(data_root)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{recipe}  ok  mine  ")


def test_a_misspelt_top_level_field_and_a_missing_recipe(tmp_path: Path) -> None:
    data = {"name": "mine", "sources": RECIPE["sources"], "filter": RECIPE["filters"]}
    typo = write(tmp_path / "typo.yaml", data)
    assert validate(str(typo), "--data-root", str(tmp_path)) == (
        2,
        f"{typo}:7 filter: unknown field (did you mean filters?)\n",
    )
    missing = tmp_path / "nothere.yaml"
    assert validate(str(missing)) == (
        2,
        f"{missing}: cannot read recipe '{missing}': No such file or directory\n",
    )
