"""Seeded, content-defined orderings: the basis of deterministic selection and shuffling."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import xxhash


def hash_keys(ids: pa.Array | pa.ChunkedArray | list[str], seed: int, salt: str = "") -> np.ndarray:
    """64-bit seeded ``xxh3(salt + id)`` keys; equal inputs give equal keys on every machine."""
    values = ids.to_pylist() if not isinstance(ids, list) else ids
    h = xxhash.xxh3_64_intdigest
    prefix = (salt + "\x00").encode() if salt else b""
    return np.fromiter(
        (h(prefix + v.encode("utf-8"), seed) for v in values), dtype=np.uint64, count=len(values)
    )


def hash_order(
    ids: pa.Array | pa.ChunkedArray | list[str], seed: int, salt: str = ""
) -> np.ndarray:
    """Row indices sorted by seeded hash key (ties, which need a 64-bit collision, by id)."""
    keys = hash_keys(ids, seed, salt)
    return np.argsort(keys, kind="stable").astype(np.int64)
