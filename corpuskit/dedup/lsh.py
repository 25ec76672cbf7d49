"""LSH banding and clustering of MinHash signatures, vectorised with numpy.

Rows must come in a canonical order (the caller sorts them by id), so that the candidate edges,
the clusters and therefore the kept documents do not depend on the input order or worker count.
"""

from __future__ import annotations

import numpy as np

from corpuskit.dedup.shingles import fmix64
from corpuskit.tally import distinct_sorted


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(documents, bands) uint64 bucket keys: the ``rows`` values of each band mixed together."""
    docs = signatures.shape[0]
    keys = np.empty((docs, bands), dtype=np.uint64)
    for band in range(bands):
        key = np.full(docs, np.uint64(band) + np.uint64(0x9E3779B97F4A7C15), dtype=np.uint64)
        for col in range(band * rows, (band + 1) * rows):  # a column at a time: no uint64 copy
            key = fmix64(key ^ signatures[:, col].astype(np.uint64))
        keys[:, band] = key
    return keys


def candidate_pairs(keys: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """(pairs, 2) int64 edges, sorted and distinct: in each band bucket, every member joined to
    the bucket's first row.

    ``eligible`` masks rows that take part (documents without shingles do not). Each edge is kept
    as one int64 code (``first * n + member``, whose order is the pairs' lexicographic order) and
    merged into the distinct edges band by band, so a heavily duplicated corpus (about one edge
    per row and band) never holds every band's edges at once.
    """
    n = len(keys)
    rows = np.flatnonzero(eligible)
    codes = np.zeros(0, dtype=np.int64)
    for band in range(keys.shape[1]):
        k = keys[rows, band]
        order = np.argsort(k, kind="stable")
        sk = k[order]
        same = np.zeros(len(sk), dtype=bool)
        same[1:] = sk[1:] == sk[:-1]
        del k, sk
        if not same.any():
            continue
        head_pos = np.maximum.accumulate(np.where(same, 0, np.arange(len(same))))
        members = np.flatnonzero(same)
        band_codes = rows[order[head_pos[members]]] * n + rows[order[members]]
        codes = distinct_sorted(np.concatenate([codes, band_codes]))
    if n == 0:
        return np.zeros((0, 2), dtype=np.int64)
    return np.stack([codes // n, codes % n], axis=1)


def estimated_jaccard(
    signatures: np.ndarray, pairs: np.ndarray, chunk_bytes: int = 1 << 21
) -> np.ndarray:
    """Share of equal signature values for each pair: MinHash's estimate of Jaccard similarity.

    Pairs go a chunk at a time, so the gathered signature rows take about ``chunk_bytes`` a side.
    """
    out = np.empty(len(pairs), dtype=np.float64)
    chunk = max(1, chunk_bytes // max(1, signatures.shape[1] * signatures.itemsize))
    for lo in range(0, len(pairs), chunk):
        p = pairs[lo : lo + chunk]
        equal = signatures[p[:, 0]] == signatures[p[:, 1]]
        # a count, not equal.mean(): that made a float64 copy of the (chunk, num_perm) array
        out[lo : lo + chunk] = np.count_nonzero(equal, axis=1) / signatures.shape[1]
    return out


def connected_components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Component label per node: the smallest node index in its component (union-find by min)."""
    label = np.arange(n, dtype=np.int64)
    if len(pairs) == 0:
        return label
    u, v = pairs[:, 0], pairs[:, 1]
    while True:
        low = np.minimum(label[u], label[v])
        before = label.copy()
        np.minimum.at(label, u, low)
        np.minimum.at(label, v, low)
        while True:  # pointer jumping until every node points at a root
            jumped = label[label]
            if np.array_equal(jumped, label):
                break
            label = jumped
        if np.array_equal(label, before):
            return label
