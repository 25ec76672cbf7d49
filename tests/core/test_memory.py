"""Build memory: releasable staged files, batch-by-batch shard writing, allocator trimming."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpuskit.memory import StagedFiles, build_memory_pool, release_free_memory
from corpuskit.shards import ShardRows


def _rss_file_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1])
    raise AssertionError("no RssFile line")


def _write_ipc(path: Path, table: pa.Table) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _text_table(rows: int, width: int) -> pa.Table:
    texts = pa.array([f"{i:08d}" + "x" * width for i in range(rows)], pa.large_string())
    return pa.table({"text": texts, "words": pa.array(np.ones(rows, np.int64))})


def test_staged_table_is_read_zero_copy_and_stays_equal_after_release(tmp_path: Path) -> None:
    table = _text_table(1000, 50)
    _write_ipc(tmp_path / "part.arrow", table)
    files = StagedFiles()
    allocated = pa.total_allocated_bytes()
    staged = files.read(str(tmp_path / "part.arrow"))
    assert pa.total_allocated_bytes() == allocated  # zero-copy: nothing allocated to hold it
    files.release()
    assert staged.equals(table)  # pages read again from the page cache after being dropped


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_release_drops_the_touched_pages_of_staged_files(tmp_path: Path) -> None:
    _write_ipc(tmp_path / "part.arrow", _text_table(200_000, 100))  # ~22 MiB of text
    files = StagedFiles()
    staged = files.read(str(tmp_path / "part.arrow"))
    before = _rss_file_kib()
    assert (
        pc.sum(pc.count_substring(staged["text"], "x")).as_py() == 200_000 * 100
    )  # reads every byte
    touched = _rss_file_kib() - before
    files.release()
    released = _rss_file_kib() - before
    assert touched > 15 * 1024  # the text pages were counted...
    assert released < touched // 4  # ...and are no longer


def test_release_free_memory_keeps_live_arrow_data() -> None:
    kept = pa.array(np.arange(100_000))
    release_free_memory()
    assert pc.sum(kept).as_py() == 100_000 * 99_999 // 2


@st.composite
def _chunked_and_indices(draw: st.DrawFn) -> tuple[pa.Table, np.ndarray]:
    sizes = draw(st.lists(st.integers(0, 40), min_size=1, max_size=6))
    total = sum(sizes)
    chunks, start = [], 0
    for size in sizes:
        rows = range(start, start + size)
        ids = pa.array([str(r) for r in rows], pa.string())
        chunks.append(pa.table({"id": ids, "words": pa.array(list(rows), pa.int64())}))
        start += size
    table = pa.concat_tables(chunks)
    if total == 0:
        return table, np.empty(0, np.int64)
    if draw(st.booleans()):  # a run of consecutive rows
        first = draw(st.integers(0, total - 1))
        length = draw(st.integers(1, total - first))
        return table, np.arange(first, first + length, dtype=np.int64)
    picks = draw(st.lists(st.integers(0, total - 1), min_size=1, max_size=60, unique=True))
    return table, np.array(picks, dtype=np.int64)


@settings(max_examples=80, deadline=None)
@given(_chunked_and_indices(), st.integers(1, 17))
def test_shard_batches_are_fixed_windows_whatever_the_staged_chunks(
    case: tuple[pa.Table, np.ndarray], max_rows: int
) -> None:
    table, indices = case
    got = list(ShardRows.of(table, indices).batches(max_rows))
    sizes = [b.num_rows for b in got]
    n = len(indices)
    assert sizes == [min(max_rows, n - start) for start in range(0, n, max_rows)]
    assert pa.Table.from_batches(got, table.schema).column("words").to_pylist() == [
        int(i) for i in indices
    ]
    # The same rows staged in one chunk give the same batches (so the same shard bytes).
    single = ShardRows.of(table.combine_chunks(), indices).batches(max_rows)
    assert all(a.equals(b) for a, b in zip(got, single, strict=True))


def test_builds_allocate_from_the_system_pool_and_restore_the_previous_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    previous = pa.default_memory_pool().backend_name
    with build_memory_pool():
        assert pa.default_memory_pool().backend_name == "system"
    assert pa.default_memory_pool().backend_name == previous


def test_a_pool_chosen_by_the_user_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    previous = pa.default_memory_pool().backend_name
    with build_memory_pool():
        assert pa.default_memory_pool().backend_name == previous
