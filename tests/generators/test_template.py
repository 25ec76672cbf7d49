"""The template generator: seeded per document, quota-exact, validated patterns and word lists."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpuskit import Recipe, build, count_words
from corpuskit.document import Document, block_to_docs, docs_to_block
from corpuskit.errors import RecipeError
from corpuskit.generators import TemplateGenerator
from corpuskit.step import RunContext

WORDS = {"adj": ["small", "red", "happy"], "noun": ["cat", "kite"], "verb": ["runs", "flies"]}
SEEDS = [Document(f"s:{i}", f"seed {i}", "toy", {"license": "cc-by"}) for i in range(5)]


def run(gen: TemplateGenerator, docs: list[Document] = SEEDS, seed: int = 0) -> list[Document]:
    out = gen.process(docs_to_block(docs), RunContext(seed=seed), "template")
    return [d for d in block_to_docs(out) if d.meta.get("synthetic")]


def test_fills_patterns_with_provenance() -> None:
    gen = TemplateGenerator(patterns=["The {adj} {noun} {verb}."], words=WORDS, per_seed=2)
    made = run(gen)
    assert len(made) == 10
    for doc in made:
        the, adj, noun, verb = doc.text.rstrip(".").split()
        assert (the, adj in WORDS["adj"], noun in WORDS["noun"], verb in WORDS["verb"]) == (
            "The",
            True,
            True,
            True,
        )
    assert made[0].id == "s:0~template:0" and made[0].source == "toy"
    assert made[0].meta["license"] == "cc-by" and made[0].meta["synthetic"] is True
    assert made[0].meta["generator"]["pattern"] == 0


def test_output_depends_on_documents_not_order_or_batching() -> None:
    gen = TemplateGenerator(patterns=["A {noun} {verb}.", "{adj} {noun}!"], words=WORDS)
    forward = {d.id: d.text for d in run(gen)}
    backward = {d.id: d.text for d in run(gen, list(reversed(SEEDS)))}
    split = {d.id: d.text for part in (SEEDS[:2], SEEDS[2:]) for d in run(gen, part)}
    assert forward == backward == split
    assert {d.id: d.text for d in run(gen, seed=1)} != forward


def test_seed_fields_are_available() -> None:
    gen = TemplateGenerator(patterns=["{text} and a {noun}."], words=WORDS)
    assert run(gen, SEEDS[:1])[0].text in {"seed 0 and a cat.", "seed 0 and a kite."}


@given(st.integers(min_value=0, max_value=60))
def test_quota_is_never_exceeded(quota: int) -> None:
    gen = TemplateGenerator(
        patterns=["The {adj} {noun} {verb}.", "{noun} {verb}."],
        words=WORDS,
        per_seed=3,
        max_words=quota,
    )
    made = run(gen)
    words = sum(count_words(d.text) for d in made)
    assert words <= quota
    unlimited = run(gen.model_copy(update={"max_words": None}))
    # generation stops at the first document that does not fit: the output is a prefix
    assert [d.id for d in made] == [d.id for d in unlimited[: len(made)]]
    if len(made) < len(unlimited):
        assert words + count_words(unlimited[len(made)].text) > quota


def test_word_files_and_validation(tmp_path: Path) -> None:
    (tmp_path / "nouns.txt").write_text("ball\n\nbox\n")
    recipe = {
        "name": "tmpl",
        "sources": [{"kind": "documents", "documents": ["x", "y"]}],
        "generators": [
            {
                "kind": "template",
                "patterns": ["One {noun}."],
                "word_files": {"noun": str(tmp_path / "nouns.txt")},
                "keep_seeds": False,
            }
        ],
    }
    result = build(Recipe.from_dict(recipe), out=tmp_path / "out", workers=1)
    texts = sorted(d.text for d in result.open().documents())
    assert len(texts) == 2 and set(texts) <= {"One ball.", "One box."}
    assert result.manifest["synthetic"]["share"] == 1.0
    bad = dict(
        recipe,
        generators=[{"kind": "template", "patterns": ["A {nuon}."], "words": {"noun": ["cat"]}}],
    )
    with pytest.raises(
        RecipeError,
        match=r"generators\[0\]: patterns\[0\] template references "
        r"unknown field 'nuon' \(hint: did you mean noun\?\)",
    ):
        Recipe.from_dict(bad).check(None)
