"""Budgets inside real builds: the BabyLM-style mix, build-time errors, nesting, determinism."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corpuskit import Recipe, build, read_shards
from corpuskit.datacard import DATACARD, WATERFALL_PNG, waterfall_rows
from corpuskit.errors import BudgetError
from tests.core.helpers import shard_hashes, write_corpus

MIX = Path(__file__).with_name("babylm_mix.yaml")


def table_rows(card: str, heading: str) -> list[list[str]]:
    """Cells of the first Markdown table after ``## heading``."""
    section = card.split(f"## {heading}\n", 1)[1]
    lines = [ln for ln in section.split("\n## ", 1)[0].splitlines() if ln.startswith("|")]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]


def number(cell: str) -> int:
    return int(cell.replace(",", "").replace("+", ""))


def test_babylm_mix_meets_60_20_20_exactly_and_writes_its_data_card(
    data_root: Path, tmp_path: Path
) -> None:
    result = build(Recipe.from_yaml(MIX), out=tmp_path / "out", data_root=data_root)
    m = result.manifest
    assert m["totals"]["words"] == 1_500_000
    keys = m["budget"]["keys"]
    assert {k: v["selected"] for k, v in keys.items()} == {
        "conversation": 900_000,
        "gutenberg": 300_000,
        "wiki": 300_000,
    }
    out = {s["name"]: s["words_out"] for s in m["sources"]}
    assert out["switchboard"] + out["childes"] == 900_000
    assert (out["gutenberg"], out["wiki"]) == (300_000, 300_000)
    assert out["childes"] > 0  # CHILDES is pooled with Switchboard, not crowded out
    # the data card: PNG rendered, tables add up to the manifest
    png = result.path / WATERFALL_PNG
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    card = (result.path / DATACARD).read_text()
    sources = table_rows(card, "Sources and licenses")
    assert sum(number(r[7]) for r in sources) == m["totals"]["words"]
    assert [r[3] for r in sources] == ["yes", "yes", "no", "no"]  # non-commercial flags
    waterfall = table_rows(card, "Attrition waterfall")
    assert number(waterfall[-1][3]) == m["totals"]["words"]
    assert sum(number(r[4]) for r in waterfall[:-1]) == m["totals"]["words"]
    assert [r[0] for r in waterfall] == ["read", "word_count", "words", "output"]
    assert [number(r[3]) for r in waterfall] == [r["words_out"] for r in waterfall_rows(m)]
    assert "switchboard, childes" in re.findall(r"Non-commercial[^:]*:\*\* ([^.]*)\.", card)[0]


def short_recipe(corpus: Path, on_short: str | None = None) -> Recipe:
    budget = {"kind": "words", "total": 2000, "quotas": {"kids": 0.5, "toy": 0.5}}
    if on_short:
        budget["on_short"] = on_short
    return Recipe.from_dict(
        {
            "name": "short",
            "sources": [
                {"kind": "text", "name": "toy", "paths": [str(corpus / "*.txt")]},
                {"kind": "text", "name": "kids", "paths": [str(corpus.parent / "kids.txt")]},
            ],
            "budget": budget,
        }
    )


def test_a_source_that_cannot_fill_its_quota_fails_the_build(tmp_path: Path) -> None:
    write_corpus(tmp_path / "c", files=2, lines=200)
    (tmp_path / "kids.txt").write_text("big dog\n" * 30)
    with pytest.raises(BudgetError) as info:
        build(short_recipe(tmp_path / "c"), out=tmp_path / "out")
    assert info.value.message == (
        "source 'kids' cannot fill its quota: it holds 60 words after filters and dedup and "
        "needs 1,000"
    )
    result = build(short_recipe(tmp_path / "c", "redistribute"), out=tmp_path / "out")
    assert result.manifest["budget"]["short"] == ["kids"]
    assert {s["name"]: s["words_out"] for s in result.manifest["sources"]} == {
        "toy": 1940,
        "kids": 60,
    }


def mix_recipe(corpus: Path, total: int, reverse: bool = False) -> Recipe:
    files = sorted(str(p) for p in corpus.glob("*.txt"))
    first, second = files[: len(files) // 2], files[len(files) // 2 :]
    return Recipe.from_dict(
        {
            "name": "nest",
            "seed": 5,
            "sources": [
                {"kind": "text", "name": "one", "paths": first[::-1] if reverse else first},
                {"kind": "text", "name": "two", "paths": second[::-1] if reverse else second},
            ],
            "budget": {"kind": "words", "total": total, "quotas": {"one": 0.7, "two": 0.3}},
            "output": {"shard_words": 900},
        }
    )


def test_builds_nest_and_ignore_worker_count_and_file_order(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    write_corpus(corpus, files=4, lines=300)
    small = build(mix_recipe(corpus, 1000), out=tmp_path / "s", workers=1)
    large = build(mix_recipe(corpus, 3000), out=tmp_path / "l", workers=2)
    other = build(mix_recipe(corpus, 3000, reverse=True), out=tmp_path / "r", workers=1)
    assert shard_hashes(large.path) == shard_hashes(other.path)
    small_docs = {d.id: d.text for d in read_shards(small.path)}
    large_docs = {d.id: d.text for d in read_shards(large.path)}
    assert all(large_docs[i].startswith(t) for i, t in small_docs.items())
    assert small.manifest["totals"]["words"] == 1000
    assert {s["name"]: s["words_out"] for s in large.manifest["sources"]} == {
        "one": 2100,
        "two": 900,
    }
