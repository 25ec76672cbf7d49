"""Grouped sums, chunk-wise gathers and word-budgeted shard cuts that stay off Arrow's C++ pool."""

from __future__ import annotations

import ctypes
import itertools
import sys
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpuskit import assemble
from corpuskit.memory import build_memory_pool
from corpuskit.shards import ShardRows
from corpuskit.tally import column_values, distinct_sorted, gather_values, sums_by


def chunked_table(columns: dict[str, list], cuts: list[int]) -> pa.Table:
    """A table whose record batches end at ``cuts`` (row positions)."""
    whole = pa.table(columns)
    bounds = [0, *sorted(set(cuts)), whole.num_rows]
    batches = [whole.slice(a, b - a) for a, b in itertools.pairwise(bounds) if b > a]
    return pa.concat_tables(batches) if batches else whole


def test_sums_by_counts_and_sums_each_group_in_order_of_first_appearance() -> None:
    table = chunked_table(
        {
            "step": ["f", "f", "g", "f", None, "g"],
            "reason": ["short", "long", "short", "short", "short", "short"],
            "words": [1, 20, 3, None, 5, 6],
        },
        cuts=[2, 4],
    )
    calls = []
    got = sums_by(table, ["step", "reason"], "words", after_batch=lambda: calls.append(1))
    assert list(got.items()) == [
        (("f", "short"), (2, 1)),  # the null word count adds 0 but counts as a row
        (("f", "long"), (1, 20)),
        (("g", "short"), (2, 9)),
        ((None, "short"), (1, 5)),
    ]
    assert len(calls) == 3  # one per record batch


def test_sums_by_of_an_empty_table_is_empty() -> None:
    empty = pa.table({"source": pa.array([], pa.string()), "words": pa.array([], pa.int64())})
    assert sums_by(empty, ["source"], "words") == {}


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["x", "y"]), st.integers(0, 9)),
        max_size=40,
    ),
    cuts=st.lists(st.integers(0, 40), max_size=5),
)
def test_sums_by_matches_a_python_tally(rows: list, cuts: list[int]) -> None:
    table = chunked_table(
        {
            "k1": pa.array([r[0] for r in rows], pa.string()),
            "k2": pa.array([r[1] for r in rows], pa.string()),
            "v": pa.array([r[2] for r in rows], pa.int64()),
        },
        cuts=[c for c in cuts if c < len(rows)],
    )
    counts, sums = Counter(), Counter()
    for k1, k2, v in rows:
        counts[(k1, k2)] += 1
        sums[(k1, k2)] += v
    got = sums_by(table, ["k1", "k2"], "v")
    assert got == {key: (counts[key], sums[key]) for key in counts}
    assert list(got) == list(dict.fromkeys((r[0], r[1]) for r in rows))


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=50),
    cuts=st.lists(st.integers(1, 49), max_size=6),
    data=st.data(),
)
def test_gather_values_equals_indexing_the_joined_column(
    values: list[int], cuts: list[int], data: st.DataObject
) -> None:
    column = chunked_table({"v": values}, [c for c in cuts if c < len(values)])["v"]
    rows = np.array(
        data.draw(st.lists(st.integers(0, len(values) - 1), max_size=60)), dtype=np.int64
    )
    got = gather_values(column, rows)
    assert got.dtype == np.int64
    assert got.tolist() == np.array(values, dtype=np.int64)[rows].tolist()


def reference_cuts(words: np.ndarray, order: np.ndarray, shard_words: int) -> list[list[int]]:
    """Shards by the running word total: a new one once ``shard_words`` is reached."""
    shards: list[list[int]] = []
    total, current = 0, None
    for row in order.tolist():
        total += int(words[row])
        shard = max(total - 1, 0) // shard_words
        if shard != current:
            shards.append([])
            current = shard
        shards[-1].append(row)
    return shards


@settings(max_examples=80, deadline=None)
@given(
    words=st.lists(st.integers(0, 30), min_size=1, max_size=60),
    shard_words=st.integers(1, 80),
    piece=st.integers(1, 8),
    shuffle=st.booleans(),
    cuts=st.lists(st.integers(1, 59), max_size=4),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([np.int32, np.int64]),  # input order's rows are int32
)
def test_split_by_words_cuts_like_the_running_total_at_any_piece_size(
    words: list[int],
    shard_words: int,
    piece: int,
    shuffle: bool,
    cuts: list[int],
    seed: int,
    dtype: type,
) -> None:
    table = chunked_table(
        {"words": pa.array(words, pa.int64())}, [c for c in cuts if c < len(words)]
    )
    order = np.arange(len(words), dtype=dtype)
    if shuffle:
        np.random.default_rng(seed).shuffle(order)
    original = assemble._PIECE_ROWS
    assemble._PIECE_ROWS = piece  # pieces of a few rows put cuts on piece edges
    try:
        shards = assemble.split_by_words(table, order, shard_words)
    finally:
        assemble._PIECE_ROWS = original
    expected = reference_cuts(np.array(words), order, shard_words)
    got = [
        list(range(s.first, s.first + s.count)) if s.indices is None else s.indices.tolist()
        for s in shards
    ]
    assert got == expected


def test_shard_rows_keep_a_run_as_first_and_count_and_scattered_rows_as_indices() -> None:
    table = pa.table({"x": list(range(10))})
    run = ShardRows.of(table, np.array([3, 4, 5, 6]))
    assert (run.indices, run.first, run.count, run.num_rows) == (None, 3, 4, 4)
    assert run.materialize()["x"].to_pylist() == [3, 4, 5, 6]
    scattered = ShardRows.of(table, np.array([5, 2, 9]))
    assert scattered.indices is not None and scattered.num_rows == 3
    assert scattered.materialize()["x"].to_pylist() == [5, 2, 9]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux-only")
def test_a_build_turns_transparent_huge_pages_off_and_restores_the_setting() -> None:
    prctl = ctypes.CDLL(None).prctl
    get_thp_disable = 42
    before = prctl(get_thp_disable, 0, 0, 0, 0)
    with build_memory_pool():
        assert prctl(get_thp_disable, 0, 0, 0, 0) == 1
    assert prctl(get_thp_disable, 0, 0, 0, 0) == before


def test_column_values_reads_bools_with_offsets_and_nulls_and_joins_number_chunks() -> None:
    flags = pa.array([True, False, None, True, True, False, False, True, True, None, True])
    chunked = pa.chunked_array([flags.slice(3, 6), flags, flags.slice(9)])
    expected = [bool(v) for v in chunked.to_pylist()]  # a null reads as False
    got = column_values(chunked)
    assert got.dtype == np.bool_ and got.tolist() == expected
    numbers = pa.chunked_array([pa.array([4, 5], pa.int64()), pa.array([6], pa.int64())])
    assert column_values(numbers).tolist() == [4, 5, 6]
    assert column_values(pa.chunked_array([], pa.bool_())).tolist() == []
    assert column_values(pa.array(["a", None])).tolist() == ["a", None]  # pyarrow's conversion


@given(
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=40),
    st.sampled_from([np.int64, np.uint8, np.float64]),
)
def test_distinct_sorted_equals_np_unique(values: list[int], dtype: type) -> None:
    array = np.array(values, dtype=np.int64).astype(dtype)
    assert np.array_equal(distinct_sorted(array), np.unique(array))
    assert distinct_sorted(array).dtype == array.dtype


def test_distinct_sorted_flattens_like_np_unique() -> None:
    pairs = np.array([[3, 1], [1, 3], [2, 2]], dtype=np.int64)
    assert distinct_sorted(pairs).tolist() == [1, 2, 3]
    assert distinct_sorted(np.zeros(0, dtype=np.int64)).tolist() == []
