"""Build listing and build diffs, through the library and the CLI commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from corpuskit import Recipe, build, read_shards
from corpuskit.cli_builds import register
from corpuskit.versioning import diff_builds, flatten, list_builds, recipe_changes
from tests.core.helpers import recipe_dict, write_corpus

app = typer.Typer()
register(app)
runner = CliRunner()


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("v")
    corpus = root / "corpus"
    write_corpus(corpus, files=2, lines=200)
    small = build(Recipe.from_dict(recipe_dict(corpus, total=1000)), out=root / "out").path
    large = build(Recipe.from_dict(recipe_dict(corpus, total=1500)), out=root / "out").path
    return root / "out", small, large


def test_recipe_changes_name_each_differing_field() -> None:
    a = {"budget": {"total": 5, "quotas": {"x": 0.5, "y": 0.5}}, "filters": [{"kind": "f"}]}
    b = {"budget": {"total": 9, "quotas": {"x": 0.5, "z": 0.5}}, "filters": []}
    assert flatten(a)["filters[0].kind"] == "f"
    assert recipe_changes(a, b) == [
        ("budget.quotas.y", 0.5, None),
        ("budget.quotas.z", None, 0.5),
        ("budget.total", 5, 9),
        ("filters", None, []),
        ("filters[0].kind", "f", None),
    ]


def test_diff_explains_a_bigger_budget(builds: tuple[Path, Path, Path]) -> None:
    _, small, large = builds
    diff = diff_builds(small, large, samples=2)
    assert diff.recipe == [("budget.total", 1000, 1500)]
    assert diff.words_by_source == {"toy": (1000, 1500)}
    assert diff.totals["words"] == (1000, 1500)
    a = {d.id: d.text for d in read_shards(small)}
    b = {d.id: d.text for d in read_shards(large)}
    assert diff.added == len(b.keys() - a.keys()) > 0
    assert diff.removed == len(a.keys() - b.keys()) == 0  # nested budgets: nothing is lost
    assert diff.changed == sum(a[i] != b[i] for i in a.keys() & b.keys())
    assert diff.changed <= 1  # at most the boundary document, cut shorter in the small build
    assert diff.common == len(a.keys() & b.keys())
    assert len(diff.samples["added"]) == 2
    assert all(s["id"] in b and s["id"] not in a for s in diff.samples["added"])


def test_diff_command_prints_tables_and_json(builds: tuple[Path, Path, Path]) -> None:
    _, small, large = builds
    shown = runner.invoke(app, ["diff", str(small), str(large)])
    assert shown.exit_code == 0, shown.output
    assert "budget.total" in shown.output and "+500" in shown.output
    as_json = runner.invoke(app, ["diff", str(small), str(large), "--json", "--samples", "1"])
    data = json.loads(as_json.output)
    assert data["recipe"] == [{"field": "budget.total", "a": 1000, "b": 1500}]
    assert data["documents"]["removed"] == 0 and len(data["samples"]["added"]) == 1
    missing = runner.invoke(app, ["diff", str(small), str(small.parent / "nope")])
    assert missing.exit_code == 2
    assert "is not a corpuskit build" in missing.output


def test_ls_builds_lists_every_build_with_its_recipe(builds: tuple[Path, Path, Path]) -> None:
    out, small, large = builds
    listed = list_builds(out)
    assert sorted(b.path for b in listed) == sorted([small, large])
    assert {b.recipe_hash: (b.words, b.budget, b.sources) for b in listed} == {
        small.name: (1000, 1000, ["toy"]),
        large.name: (1500, 1500, ["toy"]),
    }
    result = runner.invoke(app, ["ls-builds", str(out), "--json"])
    assert [row["recipe_hash"] for row in json.loads(result.output)] == [
        b.recipe_hash for b in listed
    ]
    table = runner.invoke(app, ["ls-builds", str(out)])
    assert small.name in table.output and "1,500" in table.output
    assert list_builds(small)[0].path == small  # a build directory lists itself
