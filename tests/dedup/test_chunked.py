"""Rewriting dedup steps work a chunk of rows at a time: any chunk size gives the same result.

Each property also checks the result against an independent whole-table reference (the
definition of the step written plainly), so "the same at every chunk size" cannot mean "equally
wrong at every chunk size".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import corpuskit.dedup.rewrite as rewrite_module
from corpuskit.dedup import DecontaminateDedup, EvalSet, LineDedup, SentenceDedup
from corpuskit.dedup.base import Dedup
from corpuskit.dedup.normalize import Normalization
from corpuskit.dedup.rewrite import Rewrite, apply_rewrite
from corpuskit.dedup.segments import content_keys, group_keys, remove_spans, segment_spans
from corpuskit.document import BLOCK_SCHEMA, Document, docs_to_block
from corpuskit.hashing import hash_keys
from corpuskit.step import RunContext
from corpuskit.words import count_words

SENTENCES = ["Uh-huh.", "uh huh!", "I like cats.", "Yes.", "...", "The end.", "Okay", "dogs too?"]
SOURCES = ["a", "b", "c"]

documents = st.lists(
    st.tuples(
        st.lists(st.sampled_from(SENTENCES), min_size=0, max_size=5),
        st.sampled_from([" ", "\n", "  \n "]),
        st.sampled_from(SOURCES),
        st.booleans(),
    ),
    min_size=0,
    max_size=9,
)


def block(docs: list[tuple[list[str], str, str, bool]]) -> pa.Table:
    return docs_to_block(
        Document(f"d{i:02d}", sep.join(parts), source, {"synthetic": True} if synth else {})
        for i, (parts, sep, source, synth) in enumerate(docs)
    )


def run(step: Dedup, table: pa.Table, chunk_rows: int, **ctx_args: Any) -> tuple[Any, ...]:
    """(output table, rejects, reports, counters) of ``step`` at one chunk size."""
    saved = rewrite_module.CHUNK_ROWS
    rewrite_module.CHUNK_ROWS = chunk_rows
    try:
        ctx = RunContext(seed=7, **ctx_args)
        out = step.apply(table, ctx, "step")
    finally:
        rewrite_module.CHUNK_ROWS = saved
    rejects = pa.concat_tables(ctx.rejects) if ctx.rejects else None
    return out, rejects, ctx.reports, dict(ctx.stats)


def same_at_every_chunk_size(step: Dedup, table: pa.Table, **ctx_args: Any) -> tuple[Any, ...]:
    whole = run(step, table, max(table.num_rows, 1), **ctx_args)
    assert whole[0].schema.equals(BLOCK_SCHEMA)
    for size in range(1, table.num_rows + 1):
        out, rejects, reports, stats = run(step, table, size, **ctx_args)
        assert out.equals(whole[0])
        assert (rejects is None) == (whole[1] is None)
        assert rejects is None or rejects.equals(whole[1])
        assert (reports, stats) == whole[2:]
    return whole


def reference_repeats(step: LineDedup | SentenceDedup, table: pa.Table, seed: int) -> list[Any]:
    """Per row: new text (None: unchanged), by the rule in the module doc, over the whole table."""
    norm, rows = Normalization(), table.to_pylist()
    order = {name: i for i, name in enumerate(step.source_priority)}
    doc_hash = hash_keys([r["id"] for r in rows], seed, salt=step.kind).tolist()
    occurrences: dict[str, list[tuple[Any, ...]]] = {}
    for d, row in enumerate(rows):
        if step.only_sources is not None and row["source"] not in step.only_sources:
            continue
        synthetic = '"synthetic":true' in row["meta"]
        rank = (order.get(row["source"], len(order)), synthetic, doc_hash[d], d)
        for p, (a, b) in enumerate(segment_spans(row["text"], step.unit)):
            key = norm.one(row["text"][a:b])
            # every copy counts and takes a place; only long enough, non-blank ones are removed
            removable = bool(key) and count_words(row["text"][a:b]) >= step.min_words
            occurrences.setdefault(key, []).append((*rank, p, removable))
    removed: dict[int, set[int]] = {}
    for places in occurrences.values():
        if len(places) >= step.min_count:
            for place in sorted(places)[step.keep :]:
                if place[5]:
                    removed.setdefault(place[3], set()).add(place[4])
    out: list[Any] = [None] * len(rows)
    for d, positions in removed.items():
        spans = segment_spans(rows[d]["text"], step.unit)
        flags = [i in positions for i in range(len(spans))]
        out[d] = remove_spans(rows[d]["text"], spans, flags)[0]
    return out


def expected_texts(table: pa.Table, new: list[Any]) -> list[str]:
    old = table["text"].to_pylist()
    return [o if n is None else n for o, n in zip(old, new, strict=True) if n is None or n.strip()]


@settings(max_examples=40, deadline=None)
@given(
    docs=documents,
    unit=st.sampled_from(["lines", "sentences"]),
    keep=st.integers(0, 2),
    min_count=st.integers(2, 3),
    only=st.sampled_from([None, ["a"], ["a", "b"]]),
    priority=st.sampled_from([[], ["c", "a"]]),
    min_words=st.integers(1, 2),
)
def test_lines_and_sentences_equal_at_every_chunk_size(
    docs: list[Any],
    unit: str,
    keep: int,
    min_count: int,
    only: Any,
    priority: list[str],
    min_words: int,
) -> None:
    table = block(docs)
    kind = LineDedup if unit == "lines" else SentenceDedup
    step = kind(
        keep=keep,
        min_count=min_count,
        min_words=min_words,
        only_sources=only,
        source_priority=priority,
    )
    out, rejects, _reports, _stats = same_at_every_chunk_size(step, table)
    assert out["text"].to_pylist() == expected_texts(table, reference_repeats(step, table, 7))
    words_out = sum(out["words"].to_pylist())
    words_rejected = 0 if rejects is None else sum(rejects["words"].to_pylist())
    assert words_out + words_rejected == sum(table["words"].to_pylist())


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(docs=documents, unit=st.sampled_from(["document", "sentence"]), only=st.booleans())
def test_decontaminate_equal_at_every_chunk_size(
    tmp_path: Path, docs: list[Any], unit: str, only: bool
) -> None:
    items = tmp_path / "items.txt"
    items.write_text("I like cats.\nthe end\n", encoding="utf-8")
    other = tmp_path / "other.txt"
    other.write_text("Okay.\n", encoding="utf-8")
    step = DecontaminateDedup(
        sets=[EvalSet(name="mine", paths=[str(items)]), EvalSet(name="other", paths=[str(other)])],
        min_words=1,
        unit=unit,  # type: ignore[arg-type]
        only_sources=["a", "b"] if only else None,
    )
    table = block(docs)
    out, _rejects, reports, _stats = same_at_every_chunk_size(step, table)
    # Reference: a sentence is contaminated when its tokens hold an item's (all shorter than
    # ``ngram``) as a run; no item here can straddle two of these sentences.
    norm, bad = Normalization(), [["i", "like", "cats"], ["the", "end"], ["okay"]]

    def contaminated(sentence: str) -> bool:
        toks = norm.one(sentence).split()
        return any(toks[i : i + len(item)] == item for item in bad for i in range(len(toks)))

    new: list[Any] = []
    for row in table.to_pylist():
        spans = segment_spans(row["text"], "sentence")
        flags = [contaminated(row["text"][a:b]) for a, b in spans]
        if (only and row["source"] == "c") or not any(flags):
            new.append(None)
        else:
            new.append("" if unit == "document" else remove_spans(row["text"], spans, flags)[0])
    assert out["text"].to_pylist() == expected_texts(table, new)
    touched = sum(n is not None for n in new)
    assert reports["decontaminate"]["docs_removed" if unit == "document" else "docs_touched"] == (
        touched
    )


def dense_apply_rewrite(table: pa.Table, texts: list[Any], removed: list[Any], reasons: list[Any]):
    """The whole-table form of ``apply_rewrite`` (session 4's code), as a reference."""
    from corpuskit.words import count_words_array

    ctx = RunContext(seed=0)
    n = table.num_rows
    old = table["text"].to_pylist()
    new = [old[i] if t is None else t for i, t in enumerate(texts)]
    emptied = np.array([texts[i] is not None and not new[i].strip() for i in range(n)], bool)
    partial = np.array([texts[i] is not None and not emptied[i] for i in range(n)], bool)
    drop = pa.array([r if emptied[i] else None for i, r in enumerate(reasons)], pa.string())
    ctx.reject(table.filter(pa.array(emptied)), step="x", reasons=drop.filter(emptied))
    if partial.any():
        idx = np.flatnonzero(partial)
        frag = pa.array([removed[i] for i in idx], pa.large_string())
        part = table.take(idx).set_column(1, "text", frag)
        part = part.set_column(3, "words", count_words_array(frag))
        ctx.reject(part, step="x", reasons=[f"{reasons[i]}_fragment" for i in idx])
        ctx.count("x", "docs_edited", len(idx))
    text = pa.array(new, pa.large_string())
    out = table.set_column(1, "text", text).set_column(3, "words", count_words_array(text))
    return out.filter(pa.array(~emptied)).cast(BLOCK_SCHEMA), ctx


edits = st.lists(
    st.one_of(
        st.none(),
        st.tuples(
            st.sampled_from(["", " \n", "kept words", "x\ty"]), st.sampled_from(["a b", "c"])
        ),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(edits=edits, chunks=st.integers(1, 3))
def test_sparse_apply_rewrite_equals_the_whole_table_form(edits: list[Any], chunks: int) -> None:
    docs = [Document(f"r{i}", f"row {i} text here", "s") for i in range(len(edits))]
    # A table of several record batches, as stage 2's concatenated staged files are.
    parts = [docs_to_block(docs[i::chunks]) for i in range(chunks)]
    table = pa.concat_tables(parts).sort_by("id") if docs else docs_to_block([])
    table = pa.concat_tables([table.slice(0, 5), table.slice(5)])
    rows = np.array([i for i, e in enumerate(edits) if e is not None], dtype=np.int64)
    texts = [e[0] if e else None for e in edits]
    removed = [e[1] if e else None for e in edits]
    reasons = [f"why{i % 2}" if e else None for i, e in enumerate(edits)]
    expected, ref_ctx = dense_apply_rewrite(table, texts, removed, reasons)
    sparse = Rewrite(
        rows,
        pa.array([texts[i] for i in rows], pa.large_string()),
        pa.array([removed[i] for i in rows], pa.large_string()),
        pa.array([reasons[i] for i in rows], pa.string()),
    )
    for size in (1, 2, 4, 64):
        rewrite_module.CHUNK_ROWS, saved = size, rewrite_module.CHUNK_ROWS
        try:
            ctx = RunContext(seed=0)
            out = apply_rewrite(table, sparse, ctx, "x")
        finally:
            rewrite_module.CHUNK_ROWS = saved
        assert out.equals(expected) and out.schema.equals(BLOCK_SCHEMA)
        got = pa.concat_tables(ctx.rejects) if ctx.rejects else None
        want = pa.concat_tables(ref_ctx.rejects) if ref_ctx.rejects else None
        assert (got is None and want is None) or (got is not None and got.equals(want))
        assert ctx.stats == ref_ctx.stats


def test_rewrite_rows_must_ascend_and_match_their_values() -> None:
    one = pa.array(["t"], pa.large_string())
    with pytest.raises(ValueError, match="one text"):
        Rewrite(np.array([0, 1]), one, one, pa.array(["r"]))
    two = pa.array(["t", "u"], pa.large_string())
    with pytest.raises(ValueError, match="ascending"):
        Rewrite(np.array([1, 0]), two, two, pa.array(["r", "r"]))


@settings(max_examples=50)
@given(st.lists(st.text(max_size=6), max_size=30))
def test_content_keys_group_exactly_equal_strings(strings: list[str]) -> None:
    group = group_keys(content_keys(pa.array(strings, pa.large_string())))
    for i, a in enumerate(strings):
        for j, b in enumerate(strings):
            assert (group[i] == group[j]) == (a == b)
    # numbered by sorted key: the numbers are 0..k-1
    assert sorted(set(group.tolist())) == list(range(len(set(strings))))
