"""The three rungs of extension, import targets, entry points and near-match suggestions."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from corpuskit import Document, Drop, Filter, Recipe, build, read_shards, registry
from corpuskit.errors import UnknownStepError
from corpuskit.filters import filter_function


def test_rung_one_literal_documents(tmp_path: Path) -> None:
    recipe = Recipe(
        name="lit",
        sources=[
            {"kind": "documents", "documents": ["one two three", {"text": "four", "id": "x"}]}
        ],
        curriculum={"kind": "input_order"},
    )
    docs = list(read_shards(build(recipe, out=tmp_path).path))
    assert [(d.id, d.text, d.source) for d in docs] == [
        ("documents:0", "one two three", "documents"),
        ("x", "four", "documents"),
    ]


def test_rung_two_decorated_function_with_typed_params(tmp_path: Path) -> None:
    @filter_function("has_letter", reasons=("no_letter",))
    def has_letter(doc: Document, letter: str = "a") -> bool | Drop:
        return True if letter in doc.text else Drop("no_letter")

    assert registry("filters").get("has_letter") is has_letter
    recipe = Recipe(
        name="fn",
        sources=[{"kind": "documents", "documents": ["cat", "dog", "bat"]}],
        filters=[{"kind": "has_letter", "letter": "t"}],
        curriculum={"kind": "input_order"},
    )
    result = build(recipe, out=tmp_path, workers=2)
    assert [d.text for d in read_shards(result.path)] == ["cat", "bat"]
    assert result.manifest["ledger"][1]["dropped"] == {"no_letter": {"docs": 1, "words": 1}}
    with pytest.raises(Exception, match="letter"):
        Recipe(
            name="fn",
            sources=[{"kind": "documents", "documents": ["x"]}],
            filters=[{"kind": "has_letter", "letter": 3}],
        )


class EndsWithPeriod(Filter, kind="test_ends_with_period"):
    """Keep documents that end with a period. Drop reasons: ``no_period``."""

    drop_reasons = ("no_period",)

    def keep(self, doc: Document) -> bool | Drop:
        return doc.text.endswith(".") or Drop("no_period")


def test_rung_three_subclass_and_import_target(tmp_path: Path) -> None:
    assert registry("filters").get("test_ends_with_period") is EndsWithPeriod
    target = f"{__name__}:EndsWithPeriod"
    assert registry("filters").get(target) is EndsWithPeriod
    recipe = Recipe(
        name="sub",
        sources=[{"kind": "documents", "documents": ["Yes.", "No", "Maybe."]}],
        filters=[{"kind": target}],
        curriculum={"kind": "input_order"},
    )
    assert [d.text for d in read_shards(build(recipe, out=tmp_path).path)] == ["Yes.", "Maybe."]


def test_entry_point_group_registers_third_party_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "thirdparty_steps"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from corpuskit import Filter\n"
        "class ThirdPartyFilter(Filter):\n"
        "    def keep(self, doc):\n        return True\n"
    )
    dist = tmp_path / "thirdparty_steps-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-steps\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[corpuskit.steps]\nfilters.third_party = thirdparty_steps:ThirdPartyFilter\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    cls = registry("filters").get("third_party")
    assert cls.__name__ == "ThirdPartyFilter"
    assert "third_party" in registry("filters").names()
    sys.modules.pop("thirdparty_steps", None)


def test_unknown_kind_suggests_and_bad_target_explains() -> None:
    with pytest.raises(UnknownStepError, match="did you mean word_count"):
        registry("filters").get("wordcount")
    with pytest.raises(UnknownStepError, match="cannot import filters target 'nope.mod:X'"):
        registry("filters").get("nope.mod:X")


def test_mapper_restricted_to_one_source_leaves_the_other_alone(tmp_path: Path) -> None:
    recipe = Recipe(
        name="only",
        sources=[
            {"kind": "documents", "name": "a", "documents": ["x   y", "p  q"]},
            {"kind": "documents", "name": "b", "documents": ["m   n"]},
        ],
        filters=[{"kind": "normalize_whitespace", "only_sources": ["a"]}],
        curriculum={"kind": "input_order"},
    )
    docs = list(read_shards(build(recipe, out=tmp_path, workers=1).path))
    assert [(d.source, d.text) for d in docs] == [("a", "x y"), ("a", "p q"), ("b", "m   n")]
