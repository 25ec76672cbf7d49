"""Shingles as 64-bit hashes, computed for a whole column at once with numpy.

Word shingles: the text is normalised, split into tokens, each distinct token is hashed once
(xxh3), and ``n`` consecutive token hashes are mixed into one shingle hash. Char shingles mix ``n``
consecutive code points. Shingles never cross document boundaries. A document shorter than ``n``
units gets one shingle made of all its units, so short texts still have a signature.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from corpuskit.dedup.normalize import split_tokens

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_STEP = np.uint64(0x9E3779B97F4A7C15)


def fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: a bijection that spreads every input bit (vectorised)."""
    x = x ^ (x >> np.uint64(33))
    x *= _M1
    x ^= x >> np.uint64(33)
    x *= _M2
    x ^= x >> np.uint64(33)
    return x


def token_hashes(normalized: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(hash per token, offsets per row) of whitespace tokens; each distinct token hashed once."""
    tokens, offsets = split_tokens(normalized)
    if len(tokens) == 0:
        return np.zeros(0, dtype=np.uint64), offsets
    encoded = pc.dictionary_encode(tokens)
    vocab = encoded.dictionary.cast(pa.large_binary()).to_pylist()
    h = xxhash.xxh3_64_intdigest
    vocab_hash = np.fromiter((h(w) for w in vocab), dtype=np.uint64, count=len(vocab))
    return vocab_hash[encoded.indices.to_numpy(zero_copy_only=False)], offsets


def char_hashes(normalized: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(mixed code point per character, offsets per row)."""
    texts = normalized.to_pylist()
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return fmix64(codes.astype(np.uint64) + _STEP), offsets


def shingle_hashes(units: np.ndarray, offsets: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(shingle hashes, offsets per row) from unit hashes: every window of ``n`` units per row.

    Rows with 1..n-1 units get one shingle of all their units; rows with none get none.
    """
    lengths = np.diff(offsets)
    total = len(units)
    mixed = units.copy()
    short_value = np.zeros(len(lengths), dtype=np.uint64)
    for j in range(1, n):
        # windows of j units are complete here: record them for rows exactly j units long
        exact = lengths == j
        if exact.any():
            short_value[exact] = fmix64(mixed[offsets[:-1][exact]] ^ np.uint64(j))
        span = total - j
        if span <= 0:
            break
        mixed[:span] = fmix64(mixed[:span] * _STEP + units[j:])
    full = lengths >= n
    counts = np.where(full, lengths - n + 1, (lengths > 0).astype(np.int64))
    out_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    out = np.empty(int(out_offsets[-1]), dtype=np.uint64)
    windows = np.where(full, counts, 0)
    within = np.arange(int(windows.sum())) - np.repeat(np.cumsum(windows) - windows, windows)
    source = np.repeat(offsets[:-1], windows) + within
    out[np.repeat(out_offsets[:-1], windows) + within] = fmix64(mixed[source] ^ np.uint64(n))
    short = ~full & (lengths > 0)
    out[out_offsets[:-1][short]] = short_value[short]
    return out, out_offsets
