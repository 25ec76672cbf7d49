"""The one definition of a word in corpuskit.

BabyLM counts words as whitespace-separated tokens. We use exactly Python's ``str.split()`` with no
argument: runs of Unicode whitespace separate words, and leading/trailing whitespace is ignored.
Budgets, statistics, manifests and trainer reports all count through this module, and a golden
test pins the definition. ``count_words_array`` is the vectorised twin for Arrow columns and is
property-tested to agree with ``count_words`` on arbitrary Unicode.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def count_words(text: str) -> int:
    """Number of whitespace-separated words in ``text`` (BabyLM rule)."""
    return len(text.split())


# Every character for which str.isspace() is true, spelled out because scanning all 1.1M code
# points took ~0.2 s of every import; a test checks the table against the running Python's own
# predicate.
_SPACE_CODES = (0x9, 0xA, 0xB, 0xC, 0xD, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680)
_SPACE_CODES += (*range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000)
WHITESPACE = tuple(map(chr, _SPACE_CODES))


# A regex for one word, for code that needs a pattern (RE2 syntax: its \s is ASCII-only, so the
# class is spelled out from the same predicate Python uses).
WORD_PATTERN = "[^" + "".join(f"\\x{{{ord(ch):x}}}" for ch in WHITESPACE) + "]+"


# Byte-level twin of str.isspace for UTF-8: the ASCII separators plus the multi-byte sequences
# below. Checked against WHITESPACE at import so the two definitions cannot drift apart.
_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_MULTIBYTE_SPACE = {ch.encode("utf-8") for ch in WHITESPACE if len(ch.encode("utf-8")) > 1}
assert {bytes([b]) for b in np.flatnonzero(_ASCII_SPACE)} | _MULTIBYTE_SPACE == {
    ch.encode("utf-8") for ch in WHITESPACE
}
assert {len(seq) for seq in _MULTIBYTE_SPACE} == {2, 3}
_BY_LEAD: dict[int, list[bytes]] = {}
for _seq in sorted(_MULTIBYTE_SPACE):
    _BY_LEAD.setdefault(_seq[0], []).append(_seq)


def _space_mask(buf: np.ndarray) -> np.ndarray:
    """True for every byte that belongs to a whitespace character of valid UTF-8 ``buf``."""
    space = _ASCII_SPACE[buf]
    n = len(buf)
    for lead, sequences in _BY_LEAD.items():  # one scan per lead byte (4), not per sequence
        candidates = np.flatnonzero(buf == lead)
        if not len(candidates):
            continue
        for seq in sequences:
            starts = candidates[candidates + len(seq) <= n]
            for k in range(1, len(seq)):
                starts = starts[buf[starts + k] == seq[k]]
            for k in range(len(seq)):
                space[starts + k] = True
    return space


# Bytes per numpy pass: bounds the temporaries (~12 bytes per text byte). Passes that stay in
# cache were 2-3x faster than 1 MiB ones on the issue-#3 benchmark input; 64 KiB ran as fast as
# 256 KiB (0.031 vs 0.033 s per 6 MiB) with a quarter of the temporaries.
SPAN_BYTES = 1 << 16


def _count_string_array(array: pa.Array) -> np.ndarray:
    """Word counts of one (large_)string array, computed on its UTF-8 bytes with numpy."""
    offset_type = np.int64 if pa.types.is_large_string(array.type) else np.int32
    _, offsets_buf, data_buf = array.buffers()
    counts = np.zeros(len(array), dtype=np.int64)
    if data_buf is None or len(array) == 0:
        return counts
    offsets = np.frombuffer(offsets_buf, dtype=offset_type)[
        array.offset : array.offset + len(array) + 1
    ].astype(np.int64)
    data = np.frombuffer(data_buf, dtype=np.uint8)
    row = 0
    while row < len(array):
        # rows [row, end) span about SPAN_BYTES (at least one row, however long)
        end = int(np.searchsorted(offsets, offsets[row] + SPAN_BYTES, side="right")) - 1
        end = min(max(end, row + 1), len(array))
        counts[row:end] = _count_span(data, offsets[row : end + 1])
        row = end
    if array.null_count:
        counts[~np.asarray(array.is_valid())] = 0
    return counts


def _count_span(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    buf = data[offsets[0] : offsets[-1]]
    if not len(buf):
        return np.zeros(len(offsets) - 1, dtype=np.int64)
    local = offsets - offsets[0]
    space = _space_mask(buf)
    previous_space = np.empty_like(space)
    previous_space[0] = True
    previous_space[1:] = space[:-1]
    previous_space[local[:-1][local[:-1] < len(buf)]] = True  # every row starts fresh
    starts = ~space & previous_space
    cumulative = np.zeros(len(buf) + 1, dtype=np.int32)  # a span is far below 2**31 bytes
    np.cumsum(starts, dtype=np.int32, out=cumulative[1:])
    return cumulative[local[1:]] - cumulative[local[:-1]]


def count_words_array(texts: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Vectorised ``count_words`` over an Arrow string column; nulls count as 0 words."""
    if isinstance(texts, pa.ChunkedArray):
        return pa.chunked_array(
            [pa.array(_count_string_array(c), pa.int64()) for c in texts.chunks], pa.int64()
        )
    return pa.array(_count_string_array(texts), pa.int64())


def sum_words(texts: pa.Array | pa.ChunkedArray) -> int:
    """Total words in an Arrow string column."""
    total = pc.sum(count_words_array(texts)).as_py()
    return int(total or 0)
