"""MinHash dedup hashes rows a chunk at a time and keeps band keys, not the signature matrix.

The results must not depend on the chunking: chunk sizes are shrunk here (a chunk of a few rows,
candidates re-hashed a few rows at a time) and the dropped rows, clusters and statistics compared
with the default run. tracemalloc (numpy arrays and Python objects, not Arrow buffers) bounds the
step's memory below the size of the signature matrix the step used to hold.
"""

from __future__ import annotations

import random
import tracemalloc

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import corpuskit.dedup.minhash as minhash_module
import corpuskit.dedup.rewrite as rewrite_module
from corpuskit.dedup import MinHashDedup
from corpuskit.dedup.lsh import candidate_pairs
from corpuskit.document import Document, docs_to_block
from corpuskit.filters.base import as_string_array
from corpuskit.step import RunContext
from tests.dedup.planted import Planted, planted_corpus


@pytest.fixture(scope="module")
def planted() -> Planted:
    return planted_corpus(n_base=300, n_exact=40, n_near=100, n_control=60, seed=11)


def run(step: MinHashDedup, table: pa.Table) -> tuple[list[str | None], dict[str, object]]:
    ctx = RunContext(seed=0)
    reasons = as_string_array(step.duplicates(table, ctx)).to_pylist()
    return reasons, ctx.reports["minhash"]


def test_chunk_sizes_do_not_change_the_result(
    planted: Planted, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = docs_to_block(Document(i, t, "s") for i, t in planted.docs)
    step = MinHashDedup(num_perm=64, threshold=0.7)
    whole_reasons, whole_report = run(step, table)
    assert 0 < sum(r == "dup_near" for r in whole_reasons) < table.num_rows
    monkeypatch.setattr(rewrite_module, "CHUNK_ROWS", 7)
    monkeypatch.setattr(minhash_module, "TAKE_ROWS", 5)
    chunked_reasons, chunked_report = run(step, table)
    assert chunked_reasons == whole_reasons
    assert chunked_report == whole_report


def test_hash_rows_equal_the_whole_signature_matrix(
    planted: Planted, monkeypatch: pytest.MonkeyPatch
) -> None:
    from corpuskit.dedup.lsh import band_keys

    texts = pa.array([t for _, t in planted.docs], pa.large_string())
    step = MinHashDedup(num_perm=32, ngram=3)
    whole, counts = step.signatures(texts)
    monkeypatch.setattr(rewrite_module, "CHUNK_ROWS", 13)
    sig, sig_counts = step.hash_rows(texts, "signatures")
    keys, key_counts = step.hash_rows(texts, "keys")
    assert np.array_equal(sig, whole)
    assert np.array_equal(keys, band_keys(whole, *step.band_rows()))
    assert np.array_equal(sig_counts, counts) and np.array_equal(key_counts, counts)


@settings(max_examples=200, deadline=None)
@given(
    keys=st.lists(st.lists(st.integers(0, 3), min_size=2, max_size=2), max_size=25),
    eligible=st.lists(st.booleans(), min_size=25, max_size=25),
)
def test_candidate_pairs_join_each_bucket_to_its_first_row(
    keys: list[list[int]], eligible: list[bool]
) -> None:
    expected = set()
    for band in range(2):
        first: dict[int, int] = {}
        for row, key in enumerate(keys):
            if not eligible[row]:
                continue
            if key[band] in first:
                expected.add((first[key[band]], row))
            else:
                first[key[band]] = row
    array = np.array(keys, dtype=np.uint64).reshape(len(keys), 2)
    pairs = candidate_pairs(array, np.array(eligible[: len(keys)], dtype=bool))
    assert pairs.dtype == np.int64 and pairs.shape == (len(expected), 2)
    assert [tuple(p) for p in pairs.tolist()] == sorted(expected)


def measured_run(
    texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str | None], dict[str, object], int]:
    """(reasons, report, tracemalloc peak) of a 256-permutation minhash over ``texts``."""
    table = docs_to_block(Document(f"d{i:06d}", t, "s") for i, t in enumerate(texts))
    monkeypatch.setattr(rewrite_module, "CHUNK_ROWS", 2000)
    step = MinHashDedup(threshold=0.7, num_perm=256)
    run(step, table.slice(0, 10))  # one-time imports and caches (~24 MiB) are not the step's
    tracemalloc.start()
    try:
        reasons, report = run(step, table)
        return reasons, report, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_below_the_signature_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    """20,000 distinct 12-word documents and 500 near copies: the whole (rows, 256) uint32
    matrix is 20 MiB (and the old band-key step copied it to uint64, 40 MiB more)."""
    rng = random.Random(3)
    words = [f"w{i}" for i in range(5000)]
    texts = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(20_000)]
    texts += [t + " again" for t in texts[:500]]
    reasons, _, peak = measured_run(texts, monkeypatch)
    assert sum(r == "dup_near" for r in reasons) >= 480  # the copies are found
    assert peak < 0.75 * len(texts) * 256 * 4, f"peak {peak / 2**20:.1f} MiB"


def test_copies_share_one_held_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    """20,000 rows that are copies of 200 texts (differing in case and spacing only): every row
    is a candidate, but the step hashes and holds one signature per normalised text, so its
    peak stays below the candidates' signatures alone (20 MiB at 256 permutations; the step
    that held one per row, and compared pairs through float64 copies, peaked at 69 MiB here)."""
    rng = random.Random(5)
    words = [f"w{i}" for i in range(500)]
    distinct = [" ".join(rng.choice(words) for _ in range(10)) for _ in range(200)]
    texts = [
        rng.choice(distinct).upper() if i % 2 else "  " + rng.choice(distinct)
        for i in range(20_000)
    ]
    reasons, report, peak = measured_run(texts, monkeypatch)
    assert sum(r is None for r in reasons) == len({t.lower().strip() for t in texts}) == 200
    assert report["docs_removed"] == 20_000 - 200
    assert peak < 0.75 * len(texts) * 256 * 4, f"peak {peak / 2**20:.1f} MiB"


def test_reasons_are_an_arrow_array_not_a_python_list(planted: Planted) -> None:
    table = docs_to_block(Document(i, t, "s") for i, t in planted.docs)
    reasons = MinHashDedup().duplicates(table, RunContext(seed=0))
    assert isinstance(reasons, pa.Array) and len(reasons) == table.num_rows
    assert set(as_string_array(reasons).to_pylist()) == {None, "dup_near"}
