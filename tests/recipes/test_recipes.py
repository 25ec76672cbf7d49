"""Every seed recipe validates, and builds at a reduced budget against the shared data.

LLM-backed recipes run against the real local OpenAI-compatible test server: the loaded recipe's
``base_url`` is pointed at it and the generated words per partition are capped, so each build
stays small while going through the same code as a real run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from corpuskit import Recipe, build
from corpuskit.cli import app
from corpuskit.testing.openai_server import OpenAITestServer, prompt_set_responder

REPO = Path(__file__).resolve().parents[2]
RECIPES = sorted((REPO / "recipes").glob("*.yaml"))
# Recipes over data the shared folder does not hold (tested in test_official_babylm.py).
ON_SHARED_DATA = [p for p in RECIPES if p.stem != "babylm-official"]
ALICE = {"sentences": ["gutenberg/pg11.txt"]}  # LLM seeds from one book keep the test short
runner = CliRunner()


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAITestServer]:
    with OpenAITestServer(prompt_set_responder) as srv:
        yield srv


def test_the_seed_recipes_are_all_there() -> None:
    assert [p.stem for p in RECIPES] == [
        "babylm-mix",
        "babylm-official",
        "class-it-merged",
        "class-it-sequential",
        "combined",
        "grammar",
        "paraphrase-pairs",
        "paraphrase",
        "quickstart",
        "wiktionary",
    ]


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_every_recipe_starts_with_a_comment_header(path: Path) -> None:
    header = path.read_text().split("\nname:")[0].splitlines()
    assert len(header) >= 3 and all(line.startswith("#") for line in header)
    assert header[0].startswith(f"# {path.stem}:")


def test_every_recipe_validates(data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    paths = map(str, ON_SHARED_DATA)
    result = runner.invoke(app, ["validate", *paths, "--data-root", str(data_root)])
    assert result.exit_code == 0, result.output
    assert [line.split()[:2] for line in result.output.splitlines() if line.strip()] == [
        [str(p), "ok"] for p in ON_SHARED_DATA
    ]


def test_an_llm_recipe_without_its_key_fails_validation(
    data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = runner.invoke(
        app, ["validate", str(REPO / "recipes/paraphrase.yaml"), "--data-root", str(data_root)]
    )
    assert result.exit_code == 2
    assert "OPENAI_API_KEY" in result.output


def load(
    name: str,
    budget: int,
    server: OpenAITestServer | None,
    gen_words: int,
    paths: dict[str, list[str]] | None = None,
) -> Recipe:
    """The recipe at ``budget`` words, its generators pointed at ``server`` and capped.

    ``paths`` swaps a source's input files for smaller ones (a generator walks every seed of a
    partition even after its quota is reached, which over all of Switchboard takes ~30 s).
    """
    recipe = Recipe.from_yaml(REPO / "recipes" / f"{name}.yaml").with_budget(budget)
    data: dict[str, Any] = recipe.to_dict()
    for source in data["sources"]:
        source["paths"] = (paths or {}).get(source["name"], source["paths"])
    for step in data.get("generators") or []:
        assert server is not None
        step.update(base_url=server.base_url, max_words=gen_words, max_cost_usd=None)
    return Recipe.from_dict(data)


def words_by_source(result: Any) -> Counter[str]:
    words: Counter[str] = Counter()
    for doc in result.open().documents():
        words[doc.source] += doc.words
    return words


# name -> (budget, expected words per source); quotas are met exactly at these budgets.
EXACT = {
    "quickstart": (20_000, {"gutenberg": 10_000, "switchboard": 9_000, "childes": 1_000}),
    "babylm-mix": (
        50_000,
        {"switchboard": 25_500, "childes": 2_000, "gutenberg": 10_000, "wiki": 12_500},
    ),
    "class-it-merged": (20_000, {"switchboard": 18_000, "boolq": 2_000}),
    "class-it-sequential": (20_000, {"switchboard": 18_000, "boolq": 2_000}),
}


@pytest.mark.parametrize("name", sorted(EXACT))
def test_quota_recipes_build_exactly_at_a_reduced_budget(
    name: str, data_root: Path, tmp_path: Path
) -> None:
    budget, expected = EXACT[name]
    result = build(load(name, budget, None, 0), out=tmp_path, data_root=data_root, workers=2)
    assert dict(words_by_source(result)) == expected
    assert result.manifest["totals"]["words"] == budget


def test_class_it_curricula_differ_only_in_stages(data_root: Path, tmp_path: Path) -> None:
    merged = build(load("class-it-merged", 20_000, None, 0), out=tmp_path, data_root=data_root)
    staged = build(load("class-it-sequential", 20_000, None, 0), out=tmp_path, data_root=data_root)
    assert [(s["name"], s["words"]) for s in merged.open().stages] == [("main", 20_000)]
    assert [(s["name"], s["words"]) for s in staged.open().stages] == [
        ("conversation", 18_000),
        ("qa", 2_000),
    ]
    sources = [d.source for d in staged.open().documents()]
    assert sources == sorted(sources, key=["switchboard", "boolq"].index)
    # The same documents, only ordered differently.
    assert sorted(d.id for d in merged.open().documents()) == sorted(
        d.id for d in staged.open().documents()
    )
    merged_sources = [d.source for d in merged.open().documents()]
    assert merged_sources != sorted(merged_sources, key=["switchboard", "boolq"].index)


def test_wiktionary_builds_definitions(data_root: Path, tmp_path: Path) -> None:
    result = build(load("wiktionary", 5_000, None, 0), out=tmp_path, data_root=data_root)
    docs = list(result.open().documents())
    assert result.manifest["totals"]["words"] == 5_000 == sum(d.words for d in docs)
    assert {d.source for d in docs} == {"wiktionary"}
    assert all("): " in d.text.split("\n")[0] for d in docs)


def test_paraphrase_builds_pairs_and_llm_paraphrases(
    server: OpenAITestServer, data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 1M words (more than the stand-ins hold) every positive pair and paraphrase is kept."""
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    server.clear()
    recipe = load("paraphrase", 1_000_000, server, 300, paths=ALICE)
    result = build(recipe, out=tmp_path, data_root=data_root)
    docs = list(result.open().documents())
    made = [d for d in docs if d.source == "sentences"]
    assert made and all(d.meta["synthetic"] for d in made)
    for doc in made:  # "<seed sentence> <paraphrase>", the responder echoing the seed
        seed, paraphrase = doc.text.split(" Put another way (")
        assert paraphrase.endswith(f"), {seed}") and doc.meta["seed_id"].startswith("sentences:")
    assert 0 < sum(d.words for d in made) <= 300
    assert result.manifest["synthetic"]["words"] == sum(d.words for d in made)
    pairs = Counter(d.source for d in docs if d.source != "sentences")
    # Positives: 2,753 + 1,147 MRPC pairs; QQP rows with is_duplicate == 1.
    assert pairs == {"mrpc": 3_900, "qqp": 8_747}
    assert all(r.authorized for r in server.completions)
    ledger = {row["step"]: row for row in result.manifest["ledger"]}
    assert ledger["paraphrase"]["counters"]["requests"] == len(server.completions) > 0


def test_grammar_builds_only_generated_examples(
    server: OpenAITestServer, data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    one_dialogue = {"switchboard": ["switchboard/swda_dialogue_2347.txt"]}
    # max_words is per build: 2,500 generated words, of which the budget takes 2,000
    recipe = load("grammar", 2_000, server, 2_500, paths=one_dialogue)
    result = build(recipe, out=tmp_path, data_root=data_root)
    docs = list(result.open().documents())
    assert sum(d.words for d in docs) == 2_000
    assert {d.source for d in docs} == {"switchboard", "childes"}
    not_examples = [d.text for d in docs if not d.text.startswith("Example ")]
    assert not_examples == []
    assert all(
        d.meta["synthetic"] and d.meta["generator"]["kind"] == "grammar_examples" for d in docs
    )


def test_combined_gives_both_halves_equal_words(
    server: OpenAITestServer, data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    result = build(
        load("combined", 40_000, server, 2_000, paths=ALICE), out=tmp_path, data_root=data_root
    )
    words = words_by_source(result)
    assert {k: words[k] for k in ("switchboard", "childes", "gutenberg", "wiki")} == {
        "switchboard": 10_200,
        "childes": 800,
        "gutenberg": 4_000,
        "wiki": 5_000,
    }
    assert words["mrpc"] + words["qqp"] + words["sentences"] == 20_000
    assert words["sentences"] > 0
