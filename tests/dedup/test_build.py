"""Dedup inside a real build: same bytes with 1 or 2 workers, ledger and reports in the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from corpuskit import build
from corpuskit.recipe import Recipe

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "dedup"


def recipe(total: int) -> Recipe:
    return Recipe.from_dict(
        {
            "name": "dedup-e2e",
            "seed": 3,
            "sources": [
                {"kind": "text", "name": "books", "paths": [str(FIXTURES / "books_a.txt")]},
                {"kind": "text", "name": "chat", "paths": [str(FIXTURES / "chat_b*.txt")]},
            ],
            "dedup": [
                {"kind": "exact", "source_priority": ["books"]},
                {"kind": "minhash", "threshold": 0.5, "source_priority": ["books"]},
                {
                    "kind": "decontaminate",
                    "sets": [{"name": "mine", "paths": [str(FIXTURES / "eval_items.txt")]}],
                },
            ],
            "budget": {"kind": "words", "total": total},
        }
    )


def dropped(manifest: dict[str, Any], step: str) -> dict[str, dict[str, int]]:
    return next(row["dropped"] for row in manifest["ledger"] if row["step"] == step)


@pytest.mark.parametrize("total", [4_000])
def test_workers_give_identical_shards(tmp_path: Path, total: int) -> None:
    one = build(recipe(total), out=tmp_path / "w1", workers=1).manifest
    two = build(recipe(total), out=tmp_path / "w2", workers=2).manifest
    assert [s["sha256"] for s in one["shards"]] == [s["sha256"] for s in two["shards"]]
    assert one["reports"] == two["reports"]
    # planted: 10 exact copies (chat_b1), 10 near copies (chat_b2, true 5-gram Jaccard 0.71 to
    # 0.85), 9 "Uh-huh." lines (one kept, from books), 2 eval items in chat_b2: one inside a near
    # copy (already gone when decontaminate runs), one in a distinct document (chat_b2 line 6);
    # the small fixture grammar also produced one eval sentence in books_a line 12 by chance
    assert dropped(one, "exact") == {
        "dup_exact": {"docs": 18, "words": dropped(one, "exact")["dup_exact"]["words"]}
    }
    assert dropped(one, "minhash")["dup_near"]["docs"] == 10
    assert dropped(one, "decontaminate")["contaminated_mine"]["docs"] == 2
    examples = one["reports"]["decontaminate"]["by_set"]["mine"]["examples"]
    assert sorted(e["id"].rsplit("/", 1)[1] for e in examples) == [
        "books_a.txt:12",
        "chat_b2.txt:6",
    ]
    assert one["reports"]["exact"]["removed_by_source"]["chat"]["docs"] == 16
    assert one["reports"]["minhash"]["largest"][0]["kept"]["id"].startswith("books:")
    # the budget is met exactly from what dedup left
    assert one["budget"]["selected"] == total
    assert one["totals"]["words"] == total


def test_line_dedup_in_a_build(tmp_path: Path) -> None:
    spec = recipe(100_000).to_dict()
    spec["dedup"] = [{"kind": "lines"}]
    spec["budget"] = None
    manifest = build(Recipe.from_dict(spec), out=tmp_path, workers=2).manifest
    row = next(r for r in manifest["ledger"] if r["step"] == "lines")
    # each document is one line: the 10 exact copies and 8 of the 9 "Uh-huh." lines go
    assert row["dropped"]["dup_line"]["docs"] == 18
    assert row["words_in"] - row["words_out"] == sum(v["words"] for v in row["dropped"].values())


def test_decontaminate_declares_its_input_files() -> None:
    from corpuskit.step import CheckContext

    step = recipe(1).dedup[2]
    assert step.input_files(CheckContext(None)) == [FIXTURES / "eval_items.txt"]
