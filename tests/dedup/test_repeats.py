"""Line and sentence dedup: keep-first-k, min_count, and how partial removals are recorded."""

from __future__ import annotations

import pyarrow as pa

from corpuskit.dedup import LineDedup, SentenceDedup
from corpuskit.document import Document, docs_to_block
from corpuskit.hashing import hash_keys
from corpuskit.step import RunContext


def dialogue() -> pa.Table:
    return docs_to_block(
        [
            Document("sw:1", "A: Uh-huh.\nB: I like cats.\nA: Uh-huh.", "swb"),
            Document("sw:2", "A: uh huh\nB: Dogs are fine too.", "swb"),
            Document("sw:3", "A: Uh-huh.", "swb"),
            Document("sw:4", "B: Yeah.\nA: Right.", "swb"),
        ]
    )


def test_lines_keep_first_by_hashed_id() -> None:
    table = dialogue()
    ctx = RunContext(seed=0)
    out = LineDedup().apply(table, ctx, "lines")
    # "a uh huh" occurs 4 times; the first occurrence in seeded id-hash order is kept
    ids = ["sw:1", "sw:2", "sw:3"]
    keys = dict(zip(ids, hash_keys(ids, 0, "lines").tolist(), strict=True))
    first = min(keys, key=lambda k: keys[k])
    texts = dict(zip(out["id"].to_pylist(), out["text"].to_pylist(), strict=True))
    assert first == "sw:1"
    assert texts == {
        "sw:1": "A: Uh-huh.\nB: I like cats.",
        "sw:2": "B: Dogs are fine too.",
        "sw:4": "B: Yeah.\nA: Right.",
    }
    rejects = pa.concat_tables(ctx.rejects).sort_by("id").to_pydict()
    assert rejects["id"] == ["sw:1", "sw:2", "sw:3"]
    assert rejects["reason"] == ["dup_line_fragment", "dup_line_fragment", "dup_line"]
    assert rejects["text"] == ["A: Uh-huh.", "A: uh huh", "A: Uh-huh."]
    assert sum(out["words"].to_pylist()) + sum(rejects["words"]) == sum(table["words"].to_pylist())
    assert out["words"].to_pylist() == [6, 5, 4]
    report = ctx.reports["lines"]
    assert (report["segments_removed"], report["docs_removed"], report["docs_edited"]) == (3, 1, 2)
    assert report["most_removed"] == [{"text": "a uh huh", "removed": 3}]


def test_keep_and_min_count() -> None:
    table = dialogue()
    out = LineDedup(keep=2).apply(table, RunContext(seed=0), "lines")
    assert sum(t.lower().count("uh") for t in out["text"].to_pylist()) == 4  # two lines kept
    untouched = LineDedup(min_count=5).apply(table, RunContext(seed=0), "lines")
    assert untouched.equals(table)


def test_min_words_protects_short_lines() -> None:
    docs = [Document("a", "Okay.\nfirst line here", "s"), Document("b", "Okay.\nsecond", "s")]
    out = LineDedup(min_words=2).apply(docs_to_block(docs), RunContext(seed=0), "lines")
    assert out["text"].to_pylist() == ["Okay.\nfirst line here", "Okay.\nsecond"]


def test_sentences_across_documents_and_natural_first() -> None:
    docs = [
        Document("g", "Once upon a time. The end.", "gen", {"synthetic": True}),
        Document("n", "The end! Really, the end.", "books"),
    ]
    ctx = RunContext(seed=3)
    out = SentenceDedup().apply(docs_to_block(docs), ctx, "sentences")
    texts = dict(zip(out["id"].to_pylist(), out["text"].to_pylist(), strict=True))
    # "the end" occurs three times: the natural document's first sentence is the one kept
    assert texts == {"g": "Once upon a time.", "n": "The end! Really, the end."}
    assert pa.concat_tables(ctx.rejects)["reason"].to_pylist() == ["dup_sentence_fragment"]
