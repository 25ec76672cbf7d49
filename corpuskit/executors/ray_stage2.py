"""Stage-2 work that the Ray executor distributes: MinHash signatures, as ``map_batches``.

A signature depends on its own row only, so the rows can be cut into blocks and hashed anywhere;
the driver puts the rows back in place by their position, and the matrix is the one the local
executor computes. What needs every row at once stays in the driver, where a local build runs
it: LSH buckets, clusters and which copy to keep, exact-dedup grouping (a vectorised pass, cheap
next to shingling and hashing), the budget's seeded hash order and the curriculum.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyarrow as pa

from corpuskit.dedup.minhash import MinHashDedup, SignatureMap, signature_map

ROW = "_row"
ROWS_PER_BLOCK = 2_000  # below this, shipping a block costs more than hashing it in the driver
log = logging.getLogger("corpuskit")


class SignatureBatch:
    """``map_batches`` body: (row, text) in, (row, signature, shingle count) out."""

    def __init__(self, step: MinHashDedup):
        self.step = step

    def __call__(self, batch: pa.Table) -> pa.Table:
        sig, counts = self.step.signatures(batch["text"])
        flat = pa.array(sig.reshape(-1), pa.from_numpy_dtype(sig.dtype))
        return pa.table(
            {
                ROW: batch[ROW],
                "sig": pa.FixedSizeListArray.from_arrays(flat, self.step.num_perm),
                "count": pa.array(counts, pa.int64()),
            }
        )


def ray_signature_map(connect: Callable[[], Any], cpus_per_task: float) -> SignatureMap:
    """A :data:`signature_map` that hashes blocks of rows on Ray Data (``connect()`` gives ray)."""

    def compute(step: MinHashDedup, texts: pa.Array | pa.ChunkedArray) -> tuple[Any, Any]:
        n = len(texts)
        ray = connect()
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        blocks = min(2 * cpus, n // ROWS_PER_BLOCK)
        if blocks < 2:  # nothing to gain from spreading it
            return step.signatures(texts)
        import ray.data

        table = pa.table({ROW: pa.array(np.arange(n, dtype=np.int64)), "text": texts})
        bounds = np.linspace(0, n, blocks + 1, dtype=np.int64)
        parts = [table.slice(a, b - a) for a, b in itertools.pairwise(bounds)]
        dataset = ray.data.from_arrow(parts).map_batches(
            SignatureBatch(step), batch_size=None, batch_format="pyarrow", num_cpus=cpus_per_task
        )
        sig = np.empty((n, step.num_perm), dtype=np.uint32)
        counts = np.empty(n, dtype=np.int64)
        for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            rows = batch[ROW].to_numpy()
            flat = batch["sig"].combine_chunks().flatten().to_numpy(zero_copy_only=False)
            sig[rows] = flat.reshape(len(rows), step.num_perm)
            counts[rows] = batch["count"].to_numpy()
        log.info("minhash signatures of %d rows computed on Ray Data in %d blocks", n, blocks)
        return sig, counts

    return compute


@contextmanager
def distributed_stage2(connect: Callable[[], Any], cpus_per_task: float) -> Iterator[None]:
    """Within this block, MinHash dedup steps hash their rows on Ray."""
    token = signature_map.set(ray_signature_map(connect, cpus_per_task))
    try:
        yield
    finally:
        signature_map.reset(token)
