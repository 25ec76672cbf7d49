"""MinHash signatures and LSH parameters.

The default ``numpy`` backend computes ``num_perm`` min-wise hashes of every document's shingle set
at once: shingle hashes are folded to 32 bits ``x`` and for permutation ``k`` hashed to
``(a_k * x + b_k) mod 2**32`` (``a_k`` odd, so a bijection of the 32-bit values); the signature
keeps the minimum. Shingle hashes are already well mixed, so the linear step only has to decorrelate
the permutations; tests check the estimates against datasketch's. Work is chunked so the
``(shingles, num_perm)`` matrix stays in cache. ``rensa`` (Rust) is an optional faster backend and
``datasketch`` the reference implementation; both are fed the same shingle sets.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from corpuskit.errors import MissingDependencyError

Backend = Literal["numpy", "rensa", "datasketch"]
EMPTY = np.uint32(0xFFFFFFFF)
CHUNK_SHINGLES = 65536


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b): ``num_perm`` odd multipliers and offsets, fixed by ``seed``."""
    rng = np.random.Generator(np.random.PCG64(seed))
    a = rng.integers(0, 2**64, size=num_perm, dtype=np.uint64, endpoint=False) | np.uint64(1)
    b = rng.integers(0, 2**64, size=num_perm, dtype=np.uint64, endpoint=False)
    return a, b


def numpy_signatures(
    shingles: np.ndarray, offsets: np.ndarray, num_perm: int, seed: int, threads: int | None = None
) -> np.ndarray:
    """(rows, num_perm) uint32 MinHash signatures; rows without shingles are all ``EMPTY``.

    Rows are taken in chunks of about ``CHUNK_SHINGLES`` shingles; within a chunk each
    permutation is one multiply, one add and one segmented minimum over a vector that stays in
    cache, which is several times faster than materialising a (shingles, num_perm) matrix.
    Chunks run on ``threads`` threads (numpy releases the GIL); every row is computed the same
    way whatever the thread count, so the result does not depend on it.
    """
    a64, b64 = permutations(num_perm, seed)
    a = (a64 >> np.uint64(32)).astype(np.uint32) | np.uint32(1)
    b = (b64 >> np.uint64(32)).astype(np.uint32)
    # fold the 64-bit shingle hashes to 32 bits: 32-bit lanes are twice as wide in SIMD
    folded = ((shingles >> np.uint64(32)) ^ shingles).astype(np.uint32)
    sig = np.full((len(offsets) - 1, num_perm), EMPTY, dtype=np.uint32)
    nonempty = np.flatnonzero(np.diff(offsets) > 0)
    chunks = _chunks(offsets[nonempty], offsets[nonempty + 1])

    def run(chunk: tuple[int, int]) -> None:
        first, last = chunk
        lo, hi = int(offsets[nonempty[first]]), int(offsets[nonempty[last - 1] + 1])
        x = folded[lo:hi]
        tmp = np.empty(hi - lo, dtype=np.uint32)
        local = offsets[nonempty[first:last]] - lo
        mins = np.empty((num_perm, last - first), dtype=np.uint32)
        for k in range(num_perm):
            np.multiply(x, a[k], out=tmp)
            np.add(tmp, b[k], out=tmp)
            np.minimum.reduceat(tmp, local, out=mins[k])
        sig[nonempty[first:last]] = mins.T

    workers = threads or 1
    if workers <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            run(chunk)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, chunks))
    return sig


def _chunks(starts: np.ndarray, ends: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) row ranges of about ``CHUNK_SHINGLES`` shingles (at least one row each)."""
    out = []
    first = 0
    while first < len(starts):
        last = int(np.searchsorted(ends, starts[first] + CHUNK_SHINGLES, side="right"))
        last = max(last, first + 1)
        out.append((first, last))
        first = last
    return out


def rensa_signatures(
    shingles: np.ndarray, offsets: np.ndarray, num_perm: int, seed: int
) -> np.ndarray:
    """Signatures from rensa's bulk Rust call over the same shingle hashes."""
    try:
        from rensa import RMinHash
    except ImportError:
        raise MissingDependencyError("minhash backend 'rensa'", "dedup") from None
    matrix = RMinHash.digest_matrix_from_flat_token_hashes(
        shingles, offsets.astype(np.uint64), num_perm, seed
    )
    sig = np.asarray(matrix.to_rows(), dtype=np.uint32).reshape(len(offsets) - 1, num_perm)
    sig[np.diff(offsets) == 0] = EMPTY
    return sig


def datasketch_signatures(
    shingles: np.ndarray, offsets: np.ndarray, num_perm: int, seed: int
) -> np.ndarray:
    """Signatures from datasketch's ``MinHash.bulk`` (the reference; slow)."""
    try:
        from datasketch import MinHash
    except ImportError:
        raise MissingDependencyError("minhash backend 'datasketch'", "dedup") from None
    sets = [
        [int(v).to_bytes(8, "little") for v in shingles[offsets[i] : offsets[i + 1]]]
        for i in range(len(offsets) - 1)
    ]
    sig = np.full((len(sets), num_perm), EMPTY, dtype=np.uint32)
    for i, mh in enumerate(MinHash.bulk(sets, num_perm=num_perm, seed=seed)):
        if sets[i]:
            sig[i] = mh.hashvalues.astype(np.uint32)
    return sig


BACKENDS = {
    "numpy": numpy_signatures,
    "rensa": rensa_signatures,
    "datasketch": datasketch_signatures,
}


def signatures(
    shingles: np.ndarray,
    offsets: np.ndarray,
    num_perm: int,
    seed: int,
    backend: Backend = "numpy",
    threads: int = 1,
) -> np.ndarray:
    """(rows, num_perm) uint32 signatures from the chosen backend."""
    if backend == "numpy":
        return numpy_signatures(shingles, offsets, num_perm, seed, threads)
    return BACKENDS[backend](shingles, offsets, num_perm, seed)


def _collision_probability(s: np.ndarray, bands: Any, rows: Any) -> np.ndarray:
    return 1.0 - (1.0 - s**rows) ** bands


@lru_cache(maxsize=256)
def optimal_bands(
    threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5
) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false positive and false negative areas.

    The false positive area is the probability that pairs below ``threshold`` share a bucket,
    integrated over their similarity; the false negative area is the probability that pairs above
    it never do. This is the criterion of datasketch's ``MinHashLSH`` (evaluated by quadrature
    for every (bands, rows) at once; ties go to the fewest bands, then rows, as in datasketch).
    """
    combos = np.array(
        [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)], dtype=float
    )
    bands, rows = combos[:, :1], combos[:, 1:]
    below = np.linspace(0.0, threshold, 2001)[None, :]
    above = np.linspace(threshold, 1.0, 2001)[None, :]
    fp = np.trapezoid(_collision_probability(below, bands, rows), below, axis=1)
    fn = np.trapezoid(1.0 - _collision_probability(above, bands, rows), above, axis=1)
    best = int(np.argmin(fp_weight * fp + fn_weight * fn))
    return int(combos[best, 0]), int(combos[best, 1])


def collision_probability(similarity: float, bands: int, rows: int) -> float:
    """Probability that two documents of this Jaccard similarity share at least one band."""
    return float(_collision_probability(np.array(similarity), bands, rows))
