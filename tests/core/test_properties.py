"""Invariants of the foundation, stated as hypothesis properties."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from corpuskit import Recipe, WordCountFilter, build
from corpuskit.document import Document, docs_to_block
from corpuskit.step import RunContext
from tests.core.helpers import shard_hashes

texts = st.lists(st.text(alphabet=st.sampled_from("ab \n\t.é"), max_size=40), max_size=40)


@given(texts, st.integers(0, 8), st.one_of(st.none(), st.integers(0, 12)))
def test_filters_only_remove(values: list[str], lo: int, hi: int | None) -> None:
    if hi is not None and hi < lo:
        lo, hi = hi, lo
    block = docs_to_block(Document(f"d{i}", t, "s") for i, t in enumerate(values))
    ctx = RunContext(seed=0)
    kept = WordCountFilter(min_words=lo, max_words=hi).process(block, ctx, "wc")
    kept_rows = kept.to_pylist()
    assert all(row in block.to_pylist() for row in kept_rows)  # unchanged rows, subset
    assert kept.num_rows + sum(t.num_rows for t in ctx.rejects) == block.num_rows


@settings(max_examples=8)
@given(
    st.lists(
        st.lists(st.text(alphabet="xyz ", max_size=12), min_size=1, max_size=30),
        min_size=1,
        max_size=4,
    ),
    st.integers(1, 200),
)
def test_output_independent_of_worker_count(files: list[list[str]], total: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i, lines in enumerate(files):
            (root / f"f{i}.txt").write_text("\n".join(lines) + "\n")
        recipe = Recipe(
            name="p",
            sources=[{"kind": "text", "paths": [str(root / "*.txt")]}],
            budget={"kind": "words", "total": total},
        )
        one = build(recipe, out=root / "one", workers=1)
        two = build(recipe, out=root / "two", workers=3)
        assert shard_hashes(one.path) == shard_hashes(two.path)
        assert one.manifest["totals"]["words"] <= total
