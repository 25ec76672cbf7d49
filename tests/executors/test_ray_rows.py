"""Rows of the Ray Data engine: blocks survive Ray's re-chunking, and a split block is refused.

These run without Ray: they exercise the row format and the per-batch regrouping directly.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpuskit.document import BLOCK_SCHEMA, Document, docs_to_block
from corpuskit.executors.ray_data import ROW_SCHEMA, StepsStage, groups, tagged, trailer
from corpuskit.pipeline import BuildPlan, Task
from corpuskit.recipe import Recipe


def block(task: int, seq: int, n: int) -> pa.Table:
    docs = [Document(f"t{task}:{seq}:{i}", f"word {i} of {seq}", "s") for i in range(n)]
    return docs_to_block(docs) if docs else BLOCK_SCHEMA.empty_table()


def block_rows(task: int, seq: int, n: int) -> pa.Table:
    record = {"part": 0, "stats": {"s.docs_out": n}, "rejects": [], "block": True, "rows": n}
    return pa.concat_tables([tagged(block(task, seq, n), task, seq), trailer(task, seq, record)])


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 5), min_size=1, max_size=6),
    chunk=st.integers(1, 7),
    order=st.randoms(use_true_random=False),
)
def test_groups_give_back_each_block_whatever_the_chunking(
    sizes: list[int], chunk: int, order: object
) -> None:
    # Blocks of two tasks, interleaved as Ray may deliver them, in one batch of small chunks.
    keyed = [((seq % 2), seq, n) for seq, n in enumerate(sizes)]
    order.shuffle(keyed)  # type: ignore[attr-defined]
    table = pa.concat_tables([block_rows(*k) for k in keyed]).combine_chunks()
    batch = pa.Table.from_batches(table.to_batches(max_chunksize=chunk), schema=ROW_SCHEMA)
    found = list(groups(batch))
    assert [(g.task, g.seq) for g in found] == [(t, s) for t, s, _ in keyed]
    for group, (task, seq, n) in zip(found, keyed, strict=True):
        assert group.docs.equals(block(task, seq, n))
        assert group.block_rows() == n
        assert group.sides == [
            {"part": 0, "stats": {"s.docs_out": n}, "rejects": [], "block": True, "rows": n}
        ]


def test_a_block_split_across_batches_is_refused(tmp_path: object) -> None:
    recipe = Recipe.from_dict(
        {
            "name": "r",
            "sources": [{"kind": "documents", "name": "s", "documents": ["a b c"]}],
            "filters": [{"kind": "word_count", "min_words": 2}],
        }
    )
    plan = BuildPlan(recipe, None, tmp_path, [Task(0, 0, "all")])  # type: ignore[arg-type]
    stage = StepsStage(plan, 0, 1, part=1)
    rows = block_rows(0, 0, 4)
    whole = stage(rows)
    assert whole.num_rows == 4 + 2  # the kept documents, the read record, the filter's record
    with pytest.raises(RuntimeError, match=r"block 0 of task 0 arrived split \(2 of 4 rows\)"):
        stage(pa.concat_tables([rows.slice(0, 2), rows.slice(4)]))


@settings(max_examples=25, deadline=None)
@given(
    texts=st.lists(st.text(alphabet="ab cd\n", max_size=40), min_size=1, max_size=30),
    cut=st.integers(0, 30),
    what=st.sampled_from(["keys", "signatures"]),
)
def test_row_hashes_of_any_split_equal_the_whole(texts: list[str], cut: int, what: str) -> None:
    from corpuskit.dedup.minhash import MinHashDedup
    from corpuskit.executors.ray_stage2 import ROW, HashBatch

    step = MinHashDedup(num_perm=16, ngram=2)
    table = pa.table({ROW: pa.array(range(len(texts)), pa.int64()), "text": texts})
    cut = min(cut, len(texts))
    batch = HashBatch(step, what)  # type: ignore[arg-type]
    joined = pa.concat_tables([batch(table.slice(0, cut)), batch(table.slice(cut))])
    whole, whole_counts = step.hash_rows(table["text"], what)  # type: ignore[arg-type]
    assert whole.shape == (len(texts), step.band_rows()[0] if what == "keys" else 16)
    assert joined[ROW].to_pylist() == list(range(len(texts)))
    assert joined["hashes"].to_pylist() == whole.tolist()
    assert joined["count"].to_pylist() == whole_counts.tolist()
