"""Short-source policies, upsampling, truncation and the budget's validation messages."""

from __future__ import annotations

import json
import re

import pytest

from corpuskit import Recipe
from corpuskit.assemble import budget_problems
from corpuskit.budget import WordBudget, cut_text
from corpuskit.errors import BudgetError, RecipeError
from corpuskit.step import RunContext
from tests.budget.tables import make_table, words_of

# a: 10 docs × 10 words = 100, b: 100 × 10 = 1,000, c: 100 × 10 = 1,000
TABLE = make_table({"a": [10] * 10, "b": [10] * 100, "c": [10] * 100})


def run(budget: WordBudget) -> tuple[dict[str, int], dict]:
    selection = budget.select(TABLE, RunContext(seed=1))
    return words_of(selection.apply(TABLE)), selection.report


def test_short_source_error_names_source_words_and_need() -> None:
    budget = WordBudget(total=1000, quotas={"a": 0.5, "b": 0.25, "c": 0.25})
    with pytest.raises(BudgetError) as info:
        run(budget)
    assert str(info.value) == (
        "source 'a' cannot fill its quota: it holds 100 words after filters and dedup and needs "
        "500 (hint: lower the quota, allow upsampling with budget.max_epochs, or set "
        "budget.on_short to redistribute (or warn))"
    )


def test_redistribute_gives_the_shortfall_to_the_others_in_proportion() -> None:
    budget = WordBudget(total=1000, quotas={"a": 0.5, "b": 0.3, "c": 0.2}, on_short="redistribute")
    got, report = run(budget)
    # a keeps its 100; the other 900 split 3:2 between b and c
    assert got == {"a": 100, "b": 540, "c": 360}
    assert report["short"] == ["a"]
    assert {k: (v["requested"], v["quota"]) for k, v in report["keys"].items()} == {
        "a": (500, 100),
        "b": (300, 540),
        "c": (200, 360),
    }


def test_redistribute_cascades_when_a_second_source_runs_short() -> None:
    table = make_table({"a": [10] * 10, "b": [10] * 30, "c": [10] * 200})
    budget = WordBudget(total=1500, quotas={"a": 0.4, "b": 0.3, "c": 0.3}, on_short="redistribute")
    out = budget.select(table, RunContext(seed=0)).apply(table)
    assert words_of(out) == {"a": 100, "b": 300, "c": 1100}


def test_warn_keeps_what_there_is() -> None:
    got, report = run(
        WordBudget(total=1000, quotas={"a": 0.5, "b": 0.25, "c": 0.25}, on_short="warn")
    )
    assert got == {"a": 100, "b": 250, "c": 250}
    assert report["selected"] == 600 and report["short"] == ["a"]


def test_upsampling_repeats_a_small_source_with_distinct_ids() -> None:
    budget = WordBudget(quotas={"a": 250, "b": 500, "c": 0}, max_epochs={"a": 3})
    selection = budget.select(TABLE, RunContext(seed=1))
    out = selection.apply(TABLE)
    ids = out["id"].to_pylist()
    a_ids = [i for i in ids if i.startswith("a:")]
    assert len(a_ids) == len(set(a_ids)) == 25  # 10 + 10 + 5 documents of 10 words
    assert sum(i.endswith("#rep2") for i in a_ids) == 10
    assert sum(i.endswith("#rep3") for i in a_ids) == 5
    assert {i.split("#")[0] for i in a_ids if "#rep3" in i} < {i for i in a_ids if "#" not in i}
    info = selection.report["keys"]["a"]
    assert (info["selected"], info["epochs"], info["repeated_words"]) == (250, 2.5, 150)


def test_upsampling_cap_still_fails_with_the_pass_count() -> None:
    budget = WordBudget(quotas={"a": 450, "b": 500, "c": 0}, max_epochs={"a": 4})
    with pytest.raises(
        BudgetError,
        match=r"source 'a' .* holds 100 words after filters and "
        r"dedup over 4 passes and needs 450",
    ):
        run(budget)


def test_groups_pool_their_sources_under_one_quota() -> None:
    budget = WordBudget(total=1000, quotas={"ab": 0.6, "c": 0.4}, groups={"ab": ["a", "b"]})
    got, report = run(budget)
    assert got["a"] + got["b"] == 600 and got["c"] == 400
    assert report["keys"]["ab"]["available"] == 1100


def test_truncation_marks_the_cut_document() -> None:
    table = make_table({"a": [7, 7, 7]})
    selection = WordBudget(total=10).select(table, RunContext(seed=0))
    out = selection.apply(table)
    cut = [json.loads(m) for m in out["meta"].to_pylist() if "truncated" in m]
    assert out["words"].to_pylist()[-1] == 3 and sum(out["words"].to_pylist()) == 10
    assert cut == [{"license": "test", "truncated": {"words": 3, "of": 7}}]
    assert selection.report["keys"]["*"]["truncated"]["words"] == 3


@pytest.mark.parametrize(
    ("text", "limit", "mode", "expected"),
    [
        ("One two. Three four five. Six", 4, "word", "One two. Three four"),
        ("One two. Three four five. Six", 4, "sentence", "One two."),
        ("One two. Three four five. Six", 5, "sentence", "One two. Three four five."),
        ("no end here at all", 3, "sentence", ""),
        ("A:\tline one\nB:\tline two", 4, "sentence", "A:\tline one"),
        ("«Quoted.» next", 1, "sentence", "«Quoted.»"),
        ("  lead\u00a0space  ", 1, "word", "  lead"),
    ],
)
def test_cut_text(text: str, limit: int, mode: str, expected: str) -> None:
    assert cut_text(text, limit, mode) == expected


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ({"quotas": {"a": 0.5, "b": 0.4}, "total": 10}, "quota shares sum to 0.9, not 1"),
        ({"quotas": {"a": 5, "b": 0.5}, "total": 10}, "quotas mix words (ints) and shares"),
        ({"quotas": {"a": 5, "b": 6}, "total": 10}, "quotas sum to 11 words but total is 10"),
        ({"quotas": {"a": 0.5, "b": 0.5}}, "quotas given as shares need a total"),
        ({}, "a word budget needs a total or quotas"),
        ({"total": 5, "max_epochs": {"a": 2}}, "max_epochs[a]: needs a quota key"),
    ],
)
def test_invalid_budgets_are_rejected_with_a_reason(budget: dict, message: str) -> None:
    with pytest.raises(RecipeError, match=r"budget: .*" + re.escape(message)):
        Recipe.from_dict(
            {
                "name": "x",
                "sources": [{"kind": "documents", "documents": ["a"]}],
                "budget": {"kind": "words", **budget},
            }
        )


def recipe(budget: dict, docs_a: int = 5) -> Recipe:
    return Recipe.from_dict(
        {
            "name": "v",
            "sources": [
                {"kind": "documents", "name": "kids", "documents": ["one two three"] * docs_a},
                {"kind": "text", "name": "books", "paths": ["books/*.txt"]},
            ],
            "budget": {"kind": "words", **budget},
        }
    )


def test_validation_reports_a_shortfall_it_can_know_without_reading_data() -> None:
    problems = budget_problems(recipe({"total": 100, "quotas": {"kids": 0.5, "books": 0.5}}))
    assert [(p.path, p.message) for p in problems] == [
        (
            "budget.quotas.kids",
            "source 'kids' cannot fill its quota: it holds 15 words after filters and dedup "
            "and needs 50",
        )
    ]
    ok = recipe({"total": 100, "quotas": {"kids": 0.1, "books": 0.9}})
    assert budget_problems(ok) == []
    upsampled = recipe(
        {"total": 100, "quotas": {"kids": 0.5, "books": 0.5}, "max_epochs": {"kids": 4}}
    )
    assert budget_problems(upsampled) == []


def test_validation_names_unknown_and_missing_quota_keys() -> None:
    problems = budget_problems(recipe({"total": 100, "quotas": {"kid": 0.5, "books": 0.5}}))
    assert [(p.path, p.message) for p in problems] == [
        ("budget.quotas.kid", "unknown source (did you mean kids?)"),
        ("budget.quotas", "source 'kids' has no quota (0 leaves it out)"),
    ]
