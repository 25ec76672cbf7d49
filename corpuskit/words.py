"""The one definition of a word in corpuskit.

BabyLM counts words as whitespace-separated tokens. We use exactly Python's ``str.split()`` with no
argument: runs of Unicode whitespace separate words, and leading/trailing whitespace is ignored.
Budgets, statistics, manifests and trainer reports all count through this module, and a golden
test pins the definition. ``count_words_array`` is the vectorised twin for Arrow columns and is
property-tested to agree with ``count_words`` on arbitrary Unicode.
"""

from __future__ import annotations

import sys

import pyarrow as pa
import pyarrow.compute as pc


def count_words(text: str) -> int:
    """Number of whitespace-separated words in ``text`` (BabyLM rule)."""
    return len(text.split())


def _whitespace_class() -> str:
    # Python's str.split() treats exactly the characters with str.isspace() as separators. RE2's
    # \s is ASCII-only, so the class is spelled out from the same predicate Python uses.
    chars = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    return "".join(f"\\x{{{ord(ch):x}}}" for ch in chars)


WORD_PATTERN = f"[^{_whitespace_class()}]+"


def count_words_array(texts: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Vectorised ``count_words`` over an Arrow string column; nulls count as 0 words."""
    counts = pc.count_substring_regex(texts, pattern=WORD_PATTERN)
    return pc.fill_null(pc.cast(counts, pa.int64()), 0)


def sum_words(texts: pa.Array | pa.ChunkedArray) -> int:
    """Total words in an Arrow string column."""
    total = pc.sum(count_words_array(texts)).as_py()
    return int(total or 0)
