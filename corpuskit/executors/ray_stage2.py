"""Stage-2 work that the Ray executor distributes: MinHash row hashes, as ``map_batches``.

A row's LSH band keys and its signature depend on that row only, so the rows can be cut into blocks
and hashed anywhere; the driver puts the rows back in place by their position, and the matrix is
the one the local executor computes. Band keys of every row are hashed first; the full signatures
of the candidate rows, which verification compares, are hashed the same way. What needs every row
at once stays in the driver, where a local build runs it: LSH buckets, clusters and which copy to
keep, exact-dedup grouping (a vectorised pass, cheap next to shingling and hashing), the budget's
seeded hash order and the curriculum.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyarrow as pa

from corpuskit.dedup.minhash import Hashes, MinHashDedup, RowHashes, row_hashes

ROW = "_row"
ROWS_PER_BLOCK = 2_000  # below this, shipping a block costs more than hashing it in the driver
log = logging.getLogger("corpuskit")


class HashBatch:
    """``map_batches`` body: (row, text) in, (row, band keys or signature, shingle count) out."""

    def __init__(self, step: MinHashDedup, what: Hashes):
        self.step, self.what = step, what

    def __call__(self, batch: pa.Table) -> pa.Table:
        hashes, counts = self.step.hash_rows(batch["text"], self.what)
        flat = pa.array(hashes.reshape(-1), pa.from_numpy_dtype(hashes.dtype))
        return pa.table(
            {
                ROW: batch[ROW],
                "hashes": pa.FixedSizeListArray.from_arrays(flat, hashes.shape[1]),
                "count": pa.array(counts, pa.int64()),
            }
        )


def ray_row_hashes(connect: Callable[[], Any], cpus_per_task: float) -> RowHashes:
    """A :data:`row_hashes` that hashes blocks of rows on Ray Data (``connect()`` gives ray)."""

    def compute(
        step: MinHashDedup, texts: pa.Array | pa.ChunkedArray, what: Hashes
    ) -> tuple[Any, Any]:
        n = len(texts)
        ray = connect()
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        blocks = min(2 * cpus, n // ROWS_PER_BLOCK)
        if blocks < 2:  # nothing to gain from spreading it
            return step.hash_rows(texts, what)
        import ray.data

        table = pa.table({ROW: pa.array(np.arange(n, dtype=np.int64)), "text": texts})
        bounds = np.linspace(0, n, blocks + 1, dtype=np.int64)
        parts = [table.slice(a, b - a) for a, b in itertools.pairwise(bounds)]
        dataset = ray.data.from_arrow(parts).map_batches(
            HashBatch(step, what), batch_size=None, batch_format="pyarrow", num_cpus=cpus_per_task
        )
        hashes: np.ndarray | None = None
        counts = np.empty(n, dtype=np.int64)
        for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            rows = batch[ROW].to_numpy()
            column = batch["hashes"].combine_chunks()
            flat = column.flatten().to_numpy(zero_copy_only=False)
            if hashes is None:
                hashes = np.empty((n, column.type.list_size), dtype=flat.dtype)
            hashes[rows] = flat.reshape(len(rows), column.type.list_size)
            counts[rows] = batch["count"].to_numpy()
        log.info("minhash %s of %d rows computed on Ray Data in %d blocks", what, n, blocks)
        return hashes, counts

    return compute


@contextmanager
def distributed_stage2(connect: Callable[[], Any], cpus_per_task: float) -> Iterator[None]:
    """Within this block, MinHash dedup steps hash their rows on Ray."""
    token = row_hashes.set(ray_row_hashes(connect, cpus_per_task))
    try:
        yield
    finally:
        row_hashes.reset(token)
