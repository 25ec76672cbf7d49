"""Vectorised text operations over Arrow string columns, shared by the heuristic filters.

A *split* turns a column of n texts into one flat array of pieces plus ``offsets`` (n + 1 int64):
the pieces of row i are ``flat[offsets[i]:offsets[i + 1]]``. Per-row reductions then become
``np.add.reduceat``-style numpy calls instead of Python loops. Words are always corpuskit words
(``str.split()``), split with a regex whose whitespace class is Python's own (from ``words.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpuskit.words import WORD_PATTERN

# WORD_PATTERN is "[^<python whitespace>]+"; the class without "^" is Python's whitespace.
WHITESPACE_CLASS = "[" + WORD_PATTERN[2:-1]
WHITESPACE_RUN = WHITESPACE_CLASS + "+"
PY_WHITESPACE = "".join(chr(int(h, 16)) for h in re.findall(r"\\x\{([0-9a-f]+)\}", WORD_PATTERN))


@dataclass(frozen=True)
class Split:
    """Pieces of every row: ``flat`` values and per-row ``offsets`` (length rows + 1)."""

    flat: pa.Array
    offsets: np.ndarray

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def parents(self) -> np.ndarray:
        """Row index of every piece."""
        return np.repeat(np.arange(len(self.offsets) - 1), self.counts)


def text_column(block: pa.Table) -> pa.Array:
    """The ``text`` column as one contiguous large_string array."""
    column = block["text"]
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], pa.large_string())
    return column.cast(pa.large_string())


def split_regex(texts: pa.Array, pattern: str, *, drop_empty: bool = False) -> Split:
    """Split every text on ``pattern`` (RE2), like ``re.split``; optionally drop empty pieces."""
    lists = pc.split_pattern_regex(texts, pattern=pattern)
    if drop_empty:
        return _drop_empty(lists, len(texts))
    offsets = np.asarray(lists.offsets, dtype=np.int64)
    return Split(pc.list_flatten(lists), offsets - offsets[0])


def split_words(texts: pa.Array) -> Split:
    """Words of every text (``str.split()``); ``counts`` equals ``count_words_array``.

    Arrow's ``utf8_split_whitespace`` uses exactly Python's whitespace set (a test pins this);
    it leaves empty pieces at the ends, which are dropped as ``str.split()`` does.
    """
    return _drop_empty(pc.utf8_split_whitespace(texts), len(texts))


def _drop_empty(lists: pa.Array, rows: int) -> Split:
    flat = pc.list_flatten(lists)
    offsets = np.asarray(lists.offsets, dtype=np.int64)
    offsets = offsets - offsets[0]
    keep = as_bool(pc.greater(pc.binary_length(flat), 0))
    parents = np.repeat(np.arange(rows), np.diff(offsets))
    counts = np.bincount(parents[keep], minlength=rows)
    return Split(flat.filter(pa.array(keep)), _offsets(counts))


def _offsets(counts: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def char_lengths(values: pa.Array) -> np.ndarray:
    """Length in code points of every string (``len(s)``)."""
    return np.asarray(pc.utf8_length(values).to_numpy(zero_copy_only=False), dtype=np.int64)


def count_regex(texts: pa.Array, pattern: str) -> np.ndarray:
    """Non-overlapping matches of ``pattern`` (RE2) in every text."""
    counts = pc.count_substring_regex(texts, pattern=pattern)
    return np.asarray(counts.to_numpy(zero_copy_only=False), dtype=np.int64)


def segment_sum(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over each row's segment (empty segments sum to 0)."""
    cumulative = np.zeros(
        len(values) + 1, dtype=np.float64 if values.dtype.kind == "f" else np.int64
    )
    np.cumsum(values, out=cumulative[1:])
    return cumulative[offsets[1:]] - cumulative[offsets[:-1]]


def segment_max(values: np.ndarray, offsets: np.ndarray, empty: int = 0) -> np.ndarray:
    """Maximum of ``values`` over each row's segment (``empty`` for empty segments)."""
    out = np.full(len(offsets) - 1, empty, dtype=values.dtype if len(values) else np.int64)
    nonempty = np.flatnonzero(np.diff(offsets) > 0)
    if len(nonempty):
        out[nonempty] = np.maximum.reduceat(values, offsets[:-1][nonempty])
    return out


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator as float64, 0 where the denominator is 0."""
    out = np.zeros(len(numerator), dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def reasons_from_masks(n: int, checks: list[tuple[str, np.ndarray]]) -> pa.Array:
    """First failing check per row, in the given order (None where every check passes)."""
    out = np.full(n, None, dtype=object)
    undecided = np.ones(n, dtype=bool)
    for reason, failed in checks:
        hit = undecided & failed
        out[hit] = reason
        undecided &= ~hit
    return pa.array(out, pa.string())


def as_bool(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow array as numpy (nulls count as False)."""
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def is_in(values: pa.Array, members: frozenset[str] | set[str]) -> np.ndarray:
    """Whether each string is one of ``members`` (hash lookup in Arrow)."""
    value_set = pa.array(sorted(members), values.type)
    return as_bool(pc.is_in(values, value_set=value_set))
