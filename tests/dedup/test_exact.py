"""Exact dedup: normalisation options, the keep rule, and properties of every dedup step."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpuskit.dedup import Dedup, ExactDedup, LineDedup, MinHashDedup, SentenceDedup
from corpuskit.dedup.normalize import Normalization
from corpuskit.document import Document, docs_to_block
from corpuskit.filters.base import as_string_array
from corpuskit.step import RunContext


def dropped(step: ExactDedup, docs: list[Document]) -> list[str]:
    table = docs_to_block(docs)
    reasons = as_string_array(step.duplicates(table, RunContext(seed=0))).to_pylist()
    return [d.id for d, r in zip(docs, reasons, strict=True) if r is not None]


@pytest.mark.parametrize(
    ("normalization", "expected"),
    [
        ({}, ["b", "c", "d", "e"]),
        ({"lowercase": False}, ["c", "d", "e"]),
        ({"punctuation": False}, ["b", "c", "d"]),
        ({"whitespace": False, "punctuation": False}, ["b", "d"]),
        ({"nfkc": False}, ["b", "c", "d"]),
    ],
)
def test_normalisation_options(normalization: dict[str, bool], expected: list[str]) -> None:
    docs = [
        Document("a", "Hello world", "s"),
        Document("b", "hello world", "s"),
        Document("c", "Hello   world", "s"),
        Document("d", "hello world", "s"),  # same as b
        Document("e", "Ｈello, world!", "s"),  # full-width H (NFKC) and punctuation
    ]
    assert dropped(ExactDedup(normalization=Normalization(**normalization)), docs) == expected


def test_normalisation_details() -> None:
    norm = Normalization()
    assert norm.one("  The\u2003END.Start ﬁne!! ") == "the end start fine"
    assert Normalization(punctuation=False).one("a  ,b") == "a ,b"


def test_keep_rule_is_priority_then_natural_then_smallest_id() -> None:
    docs = [
        Document("m", "same text", "web"),
        Document("a", "same text", "gen", {"synthetic": True}),
        Document("z", "same text", "books"),
    ]
    assert dropped(ExactDedup(), docs) == ["a", "z"]  # natural first, then smallest id "m"
    assert dropped(ExactDedup(prefer="synthetic"), docs) == ["m", "z"]
    assert dropped(ExactDedup(source_priority=["books"]), docs) == ["m", "a"]
    assert dropped(ExactDedup(scope="within_source"), docs) == []
    more = [*docs, Document("n", "same text", "web")]
    # cross_source: the kept copy is from "web"; only copies in other sources go
    assert dropped(ExactDedup(scope="cross_source"), more) == ["a", "z"]


def test_only_sources_and_rejects() -> None:
    docs = [Document("a", "x y", "s"), Document("b", "x y", "t"), Document("c", "x y", "t")]
    table = docs_to_block(docs)
    ctx = RunContext(seed=0)
    out = ExactDedup(only_sources=["t"]).apply(table, ctx, "exact")
    assert out["id"].to_pylist() == ["a", "b"]
    assert ctx.rejects[0]["id"].to_pylist() == ["c"]
    assert ctx.rejects[0]["reason"].to_pylist() == ["dup_exact"]
    assert ctx.rejects[0]["step"].to_pylist() == ["exact"]


# ----- properties shared by every dedup step ---------------------------------------------------
WORDS = ["uh-huh.", "Yeah", "the", "cat", "sat", "on", "mat.", "Dog!", "ran", "far"]
texts = st.lists(st.sampled_from(WORDS), min_size=0, max_size=12).map(" ".join)
multiline = st.lists(texts, min_size=1, max_size=3).map("\n".join)
corpora = st.lists(
    st.tuples(multiline, st.sampled_from(["s1", "s2"]), st.booleans()), min_size=0, max_size=25
)


def make_table(rows: list[tuple[str, str, bool]]) -> pa.Table:
    return docs_to_block(
        Document(f"d{i:03d}", text, source, {"synthetic": True} if synthetic else {})
        for i, (text, source, synthetic) in enumerate(rows)
    )


STEPS: list[Dedup] = [
    ExactDedup(),
    MinHashDedup(num_perm=64, ngram=2, threshold=0.6),
    LineDedup(),
    SentenceDedup(keep=2),
]


def run(step: Dedup, table: pa.Table) -> pa.Table:
    return step.apply(table, RunContext(seed=5), step.kind)


def rows_of(table: pa.Table) -> set[tuple[str, str]]:
    return set(zip(table["id"].to_pylist(), table["text"].to_pylist(), strict=True))


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.kind)
@given(rows=corpora, seed=st.integers(0, 1000))
def test_properties(step: Dedup, rows: list[tuple[str, str, bool]], seed: int) -> None:
    table = make_table(rows)
    out = run(step, table)
    # output ⊆ input: ids are input ids; deciders keep rows unchanged, rewriters only cut text
    by_id = dict(zip(table["id"].to_pylist(), table["text"].to_pylist(), strict=True))
    for doc_id, text in rows_of(out):
        assert set(text.split()) <= set(by_id[doc_id].split())
    assert sum(out["words"].to_pylist()) <= sum(table["words"].to_pylist())
    # idempotent
    assert rows_of(run(step, out)) == rows_of(out)
    # independent of input order
    perm = np.random.default_rng(seed).permutation(table.num_rows)
    assert rows_of(run(step, table.take(pa.array(perm, pa.int64())))) == rows_of(out)


@given(rows=corpora)
def test_exact_keeps_one_per_normalised_text(rows: list[tuple[str, str, bool]]) -> None:
    table = make_table(rows)
    out = run(ExactDedup(), table)
    norm = Normalization()
    keys_in = norm.apply(table["text"]).to_pylist()
    keys_out = norm.apply(out["text"]).to_pylist()
    assert sorted(keys_out) == sorted(set(keys_in))
    assert rows_of(out) <= rows_of(table)


def test_arrow_whitespace_is_python_whitespace() -> None:
    import sys

    from corpuskit.dedup.normalize import collapse_whitespace

    chars = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    out = collapse_whitespace(pa.array([f"a{c}{c}b " for c in chars], pa.large_string()))
    collapsed = {c for c, o in zip(chars, out.to_pylist(), strict=True) if o == "a b"}
    assert collapsed == {c for c in chars if c.isspace()}


def test_normalisation_is_the_same_chunk_by_chunk_and_reports_each_chunk() -> None:
    texts = ["Hello,  World!", "ＦＵＬＬ width", "  tabs\tand\nlines ", "", "Ça   va?"]
    whole = pa.array(texts, pa.large_string())
    chunked = pa.chunked_array([whole.slice(0, 2), whole.slice(2, 0), whole.slice(2)])
    calls: list[int] = []
    norm = Normalization()
    got = norm.apply(chunked, after_chunk=lambda: calls.append(1))
    assert got.to_pylist() == norm.apply(whole).to_pylist()
    assert got.to_pylist() == ["hello world", "full width", "tabs and lines", "", "ça va"]
    assert len(calls) == 3
    assert norm.apply(pa.chunked_array([], pa.large_string())).to_pylist() == []
