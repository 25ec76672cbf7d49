"""Recipe validation, located errors, canonical hashing and the YAML <-> Python round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpuskit import DocumentsSource, Recipe, RecipeError, TextSource, WordBudget, WordCountFilter

RECIPE = """\
name: demo
seed: 3
sources:
  - kind: text
    name: books
    paths: [books/*.txt]
filters:
  - kind: word_count
    min_words: 2
  - kind: word_count
    min_wrods: 3
budget:
  kind: words
  total: 1000
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


def test_unknown_field_is_located_with_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, RECIPE)
    with pytest.raises(RecipeError) as info:
        Recipe.from_yaml(path)
    assert (
        str(info.value)
        == f"{path}:11 filters[1].min_wrods: unknown field (did you mean min_words?)"
    )


def test_unknown_kind_suggests_near_match(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        RECIPE.replace("kind: word_count\n    min_words", "kind: word_cont\n    min_words"),
    )
    with pytest.raises(RecipeError) as info:
        Recipe.from_yaml(path)
    messages = [item.render(str(path)) for item in info.value.items]
    assert messages[0] == (
        f"{path}:8 filters[0].kind: unknown filters kind 'word_cont' (hint: did you mean word_count or char_count?)"
    )
    assert len(messages) == 2  # both problems are reported, not just the first


def test_wrong_type_and_missing_field_are_collected(tmp_path: Path) -> None:
    text = "name: demo\nsources:\n  - kind: text\nbudget:\n  kind: words\n  total: lots\n"
    with pytest.raises(RecipeError) as info:
        Recipe.from_yaml(write(tmp_path, text))
    paths = [(item.path, item.line) for item in info.value.items]
    assert paths == [("sources[0].paths", 3), ("budget.total", 6)]
    assert "valid integer" in info.value.items[1].message


def test_invalid_yaml_is_located(tmp_path: Path) -> None:
    with pytest.raises(RecipeError) as info:
        Recipe.from_yaml(write(tmp_path, "name: demo\nsources: [\n"))
    assert info.value.items[0].line == 3
    assert "invalid YAML" in info.value.items[0].message


def test_missing_input_file_is_reported_by_check(tmp_path: Path) -> None:
    recipe = Recipe.from_yaml(
        write(tmp_path, RECIPE.replace("  - kind: word_count\n    min_wrods: 3\n", ""))
    )
    with pytest.raises(RecipeError) as info:
        recipe.check(tmp_path)
    item = info.value.items[0]
    assert (item.path, item.line) == ("sources[0]", 4)
    assert "no file matches 'books/*.txt'" in item.message


def test_only_sources_must_name_a_source() -> None:
    with pytest.raises(RecipeError, match="unknown source 'bokos' \\(did you mean books\\?\\)"):
        Recipe(
            name="x",
            sources=[{"kind": "documents", "name": "books", "documents": ["a b"]}],
            filters=[{"kind": "word_count", "only_sources": ["bokos"]}],
        )


def test_python_and_yaml_recipes_are_equal_and_hash_the_same(tmp_path: Path) -> None:
    built = Recipe(
        name="demo",
        seed=3,
        sources=[TextSource(name="books", paths=["books/*.txt"])],
        filters=[WordCountFilter(min_words=2)],
        budget=WordBudget(total=1000),
    )
    text = RECIPE.replace("  - kind: word_count\n    min_wrods: 3\n", "")
    loaded = Recipe.from_yaml(write(tmp_path, text))
    assert built == loaded
    assert built.hash == loaded.hash
    again = Recipe.from_yaml(write(tmp_path, built.to_yaml()))
    assert again == built and again.hash == built.hash


def test_hash_ignores_description_but_not_parameters() -> None:
    base = Recipe(name="d", sources=[DocumentsSource(documents=["a"])])
    assert base.model_copy(update={"description": "new words"}).hash == base.hash
    assert Recipe(name="d", seed=1, sources=[DocumentsSource(documents=["a"])]).hash != base.hash
    assert len(base.hash) == 12


def test_unnamed_sources_are_named_by_kind() -> None:
    recipe = Recipe(
        name="d", sources=[DocumentsSource(documents=["a"]), DocumentsSource(documents=["b"])]
    )
    assert [s.name for s in recipe.sources] == ["documents", "documents_2"]


@given(
    seed=st.integers(0, 2**31),
    min_words=st.integers(0, 50),
    total=st.integers(1, 10**8),
    docs=st.lists(st.text(max_size=30), min_size=1, max_size=5),
)
def test_yaml_round_trip_preserves_hash(
    seed: int, min_words: int, total: int, docs: list[str]
) -> None:
    recipe = Recipe(
        name="prop",
        seed=seed,
        sources=[DocumentsSource(documents=docs)],
        filters=[WordCountFilter(min_words=min_words)],
        budget=WordBudget(total=total),
    )
    import yaml

    again = Recipe.from_dict(yaml.safe_load(recipe.to_yaml()))
    assert again == recipe
    assert again.hash == recipe.hash
