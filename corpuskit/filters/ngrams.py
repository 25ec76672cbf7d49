"""Vectorised n-gram statistics for the Gopher repetition filter.

Words of a whole block are one flat array. Counting n-grams exactly by hashing every n-gram of
every document is what makes such filters slow, yet in natural text almost every n-gram occurs
once in its document. So each n-gram gets a polynomial fingerprint (two 31-bit moduli over the
UTF-8 bytes of its words, mixed with the row index), and a few passes of ``np.bincount`` over
fingerprint buckets find the positions whose n-gram *may* repeat in its row: equal n-grams always
share a bucket, so every true repeat survives. Only those candidates are compared exactly (as
real strings), so results are exact, never probabilistic.

Two n-gram identities are needed, as in Gopher/datatrove: top n-grams compare ``" ".join(words)``
(the same as comparing word tuples, since words hold no whitespace), while duplicate n-gram
characters compare ``"".join(words)`` ("ab c" equals "a bc"). The tuple fingerprint chains word
hashes; the join fingerprint chains the bytes themselves.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpuskit.filters.textops import Split, char_lengths
from corpuskit.tally import distinct_sorted

MODULI = (2_147_483_629, 2_147_483_587)  # primes below 2**31: products fit in int64
BASES = (1_000_003, 999_983)
TUPLE_BASES = (2_654_435_761 % MODULI[0], 40_503)
ROW_MIX = (1_234_567_891 % MODULI[0], 987_654_319 % MODULI[1])
Fingerprint = tuple[np.ndarray, np.ndarray]


@dataclass
class WordTable:
    """The words of a block: lengths, owning row, hashes, and per-row offsets."""

    split: Split
    lengths: np.ndarray  # code points per word
    parents: np.ndarray  # row of every word
    remaining: np.ndarray  # words from this one to the end of its row
    cumulative: np.ndarray  # cumulative code points, len(words) + 1
    hashes: Fingerprint  # polynomial hash of each word's UTF-8 bytes (two moduli)
    powers: Fingerprint  # base ** (bytes of the word), per modulus

    @classmethod
    def from_split(cls, split: Split) -> WordTable:
        lengths = char_lengths(split.flat)
        cumulative = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=cumulative[1:])
        parents = split.parents
        remaining = split.offsets[1:][parents] - np.arange(len(parents))
        # hash each distinct word once, then gather (a block repeats its words a lot)
        encoded = pc.dictionary_encode(split.flat)
        ids = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        vocab = encoded.dictionary
        hashed = [_word_hashes(vocab, p, b) for p, b in zip(MODULI, BASES, strict=True)]
        return cls(
            split,
            lengths,
            parents,
            remaining,
            cumulative,
            (hashed[0][0][ids], hashed[1][0][ids]),
            (hashed[0][1][ids], hashed[1][1][ids]),
        )

    @property
    def rows(self) -> int:
        return len(self.split.offsets) - 1

    def valid_starts(self, n: int) -> np.ndarray:
        """Start positions of n-grams that lie inside one row."""
        return np.flatnonzero(self.remaining >= n)

    def chars(self, starts: np.ndarray, n: int) -> np.ndarray:
        """Code points of the n words from each start (without separators)."""
        return self.cumulative[starts + n] - self.cumulative[starts]

    def fingerprints(self, ns: list[int], *, joined: bool) -> dict[int, Fingerprint]:
        """Fingerprint of the n-gram at every position 0..len-n, for each n in ``ns``."""
        out: dict[int, Fingerprint] = {}
        fp = [self.hashes[0].copy(), self.hashes[1].copy()]
        m = len(self.parents)
        for k in range(1, max(ns, default=0) + 1):
            if k > 1:
                for j in range(2):
                    h = self.hashes[j][k - 1 :]
                    mult = self.powers[j][k - 1 :] if joined else TUPLE_BASES[j]
                    fp[j] = (fp[j][: m - k + 1] * mult + h) % MODULI[j]
            if k in ns:
                out[k] = (fp[0], fp[1])
        return out

    def candidates(
        self, fp: Fingerprint, n: int, within: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(valid starts, the subset whose n-gram may repeat within its row).

        ``within`` limits the search to these starts (e.g. the (n-1)-gram candidates: a repeated
        word tuple always starts with a repeated shorter tuple).
        """
        starts = self.valid_starts(n)
        pool = starts if within is None else within[self.remaining[within] >= n]
        return starts, pool[_repeated(self._keys(fp, pool))]

    def _keys(self, fp: Fingerprint, starts: np.ndarray) -> np.ndarray:
        """62-bit key per start: both fingerprints, mixed with the row index."""
        rows = self.parents[starts]
        mixed = [(fp[j][starts] + rows * ROW_MIX[j]) % MODULI[j] for j in range(2)]
        return (mixed[0].astype(np.uint64) << np.uint64(31)) | mixed[1].astype(np.uint64)


def _repeated(keys: np.ndarray) -> np.ndarray:
    """Mask of the keys that occur more than once.

    A sort finds the repeated values; a small bucket table of them (cache-sized) preselects the
    positions cheaply, and a binary search confirms only the preselected ones.
    """
    ordered = np.sort(keys)
    twice = distinct_sorted(ordered[1:][ordered[1:] == ordered[:-1]])
    mask = np.zeros(len(keys), dtype=bool)
    if not len(twice):
        return mask
    bits = np.uint64(max(10, int(64 * len(twice)).bit_length()))
    spread = np.uint64(0x9E3779B97F4A7C15)  # multiplicative hashing: top bits are well mixed
    table = np.zeros(1 << int(bits), dtype=bool)
    table[(twice * spread) >> (np.uint64(64) - bits)] = True
    maybe = np.flatnonzero(table[(keys * spread) >> (np.uint64(64) - bits)])
    at = np.minimum(np.searchsorted(twice, keys[maybe]), len(twice) - 1)
    mask[maybe[twice[at] == keys[maybe]]] = True
    return mask


def top_ngram_chars(
    table: WordTable, n: int, fp: Fingerprint, within: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: characters of its most frequent n-gram times its count, and whether it has any.

    Matches ``len(" ".join(top)) * count`` with ``Counter.most_common(1)``, whose ties go to the
    n-gram seen first. Also returns the candidate starts (to narrow the search for n + 1).
    """
    rows = table.rows
    out, has = np.zeros(rows, dtype=np.int64), np.zeros(rows, dtype=bool)
    starts, cand = table.candidates(fp, n, within)
    if not len(starts):
        return out, has, cand
    # default: every n-gram of the row is unique, so the first one is the top one (count 1)
    start_rows = table.parents[starts]
    with_grams, first = np.unique(start_rows, return_index=True)
    out[with_grams] = table.chars(starts[first], n) + (n - 1)
    has[with_grams] = True
    if not len(cand):
        return out, has, cand
    words = table.split.flat
    grams = pc.binary_join_element_wise(
        *[words.take(pa.array(cand + k)) for k in range(n)], pa.scalar(" ", words.type)
    )
    ids = np.asarray(pc.dictionary_encode(grams).indices.to_numpy(), dtype=np.int64)
    cand_rows = table.parents[cand]
    keys = cand_rows * (int(ids.max()) + 1) + ids
    _, group_first, counts = np.unique(keys, return_index=True, return_counts=True)
    repeated = counts >= 2
    g_first, g_count = group_first[repeated], counts[repeated]
    if not len(g_first):
        return out, has, cand
    g_rows = cand_rows[g_first]
    # per row: highest count, then earliest first occurrence
    order = np.lexsort((cand[g_first], -g_count, g_rows))
    best_rows, best_at = np.unique(g_rows[order], return_index=True)
    pick = order[best_at]
    out[best_rows] = (table.chars(cand[g_first[pick]], n) + (n - 1)) * g_count[pick]
    return out, has, cand


def _word_hashes(flat: pa.Array, modulus: int, base: int) -> tuple[np.ndarray, np.ndarray]:
    """Per word: polynomial hash of its UTF-8 bytes and base**bytes, both mod ``modulus``."""
    offsets_buf = flat.buffers()[1]
    data_buf = flat.buffers()[2]
    dtype = np.int64 if pa.types.is_large_string(flat.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=dtype)[flat.offset : flat.offset + len(flat) + 1]
    offsets = offsets.astype(np.int64)
    data = (
        np.frombuffer(data_buf, dtype=np.uint8)[offsets[0] : offsets[-1]].astype(np.int64)
        if data_buf is not None
        else np.zeros(0, dtype=np.int64)
    )
    local = offsets - offsets[0]
    sizes = np.diff(local)
    longest = int(sizes.max()) if len(sizes) else 0
    powers = np.ones(1, dtype=np.int64)
    while len(powers) < longest + 1:  # doubling: P[i + L] = P[i] * base**L
        step = int(powers[-1]) * base % modulus
        powers = np.concatenate([powers, powers * step % modulus])
    owner = np.repeat(np.arange(len(sizes)), sizes)
    to_end = local[1:][owner] - 1 - np.arange(len(data))
    terms = data * powers[to_end] % modulus
    hashes = np.zeros(len(sizes), dtype=np.int64)
    nonempty = np.flatnonzero(sizes > 0)
    if len(nonempty):
        hashes[nonempty] = np.add.reduceat(terms, local[:-1][nonempty]) % modulus
    return hashes, powers[sizes]


def duplicate_ngram_chars(
    table: WordTable,
    n: int,
    candidates: np.ndarray,
    rows: np.ndarray,
    exceeds: Callable[[int, int], bool],
) -> dict[int, int]:
    """Gopher's greedy duplicate n-gram characters for ``rows`` (others have none).

    Positions that are not candidates hold strings unique in their row, so the scan only visits
    candidates. A row stops early once ``exceeds(row, count)`` (the count only grows).
    """
    out: dict[int, int] = {}
    if not len(candidates):
        return out
    wanted = np.zeros(len(table.split.offsets) - 1, dtype=bool)
    wanted[rows] = True
    candidates = candidates[wanted[table.parents[candidates]]]
    if not len(candidates):
        return out
    cand_rows = table.parents[candidates]
    bounds = np.flatnonzero(np.r_[True, cand_rows[1:] != cand_rows[:-1], True])
    for a, b in itertools.pairwise(bounds):
        row = int(cand_rows[a])
        lo = int(table.split.offsets[row])
        positions = candidates[a:b]
        words = table.split.flat.slice(lo, int(positions[-1]) + n - lo).to_pylist()
        seen: set[str] = set()
        repeated, cursor = 0, 0
        for p in positions.tolist():
            if p < cursor:
                continue
            gram = "".join(words[p - lo : p - lo + n])
            if gram in seen:
                repeated += len(gram)
                cursor = p + n
                if exceeds(row, repeated):
                    break
            else:
                seen.add(gram)
                cursor = p + 1
        out[row] = repeated
    return out
