"""Lines and sentences of a document, as spans that can be removed without touching words.

Segments are cut only at whitespace, and each span is trimmed of surrounding whitespace. So the
words of a document are exactly the words of its segments, and removing segments removes exactly
their words (the BabyLM word count of the rest plus the removed parts equals the original).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from corpuskit.dedup.normalize import Normalization
from corpuskit.dedup.rewrite import Rewrite, RewriteBuilder, row_chunks
from corpuskit.hashing import hash_keys
from corpuskit.tally import column_values
from corpuskit.words import count_words_array

Unit = Literal["line", "sentence"]

# A sentence ends at terminal punctuation (and any closing quotes or brackets) before whitespace,
# or at a line break. Abbreviations ("Mr. Darcy") split too: a deliberate, predictable rule.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|\n")
_LINE_END = re.compile(r"\n")


def segment_spans(text: str, unit: Unit) -> list[tuple[int, int]]:
    """(start, end) of every non-blank line or sentence of ``text``, trimmed of whitespace."""
    pattern = _LINE_END if unit == "line" else _SENTENCE_END
    spans: list[tuple[int, int]] = []
    start = 0
    for match in pattern.finditer(text):
        _add_trimmed(text, start, match.end(), spans)
        start = match.end()
    _add_trimmed(text, start, len(text), spans)
    return spans


def _add_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        spans.append((start + lead, start + lead + len(stripped)))


def split_segments(text: str, unit: Unit) -> list[str]:
    """The lines or sentences of ``text`` (trimmed, non-blank)."""
    return [text[s:e] for s, e in segment_spans(text, unit)]


def remove_spans(text: str, spans: list[tuple[int, int]], drop: list[bool]) -> tuple[str, str]:
    """(kept text, removed text): kept segments keep the whitespace that followed them.

    The removed segments are joined by newlines, so both parts count words exactly.
    """
    kept: list[str] = []
    removed: list[str] = []
    for i, (start, end) in enumerate(spans):
        if drop[i]:
            removed.append(text[start:end])
            continue
        following = spans[i + 1][0] if i + 1 < len(spans) else end
        kept.append(text[start:following])
    return "".join(kept).rstrip(), "\n".join(removed)


def content_keys(texts: pa.Array) -> np.ndarray:
    """A 128-bit content hash per string, as an (n, 2) uint64 array: equal strings, equal keys.

    It stands for the string in equality tests over a whole build, where holding every string
    would cost memory in proportion to the corpus. 128 bits of xxh3 make a collision among even
    10^12 distinct strings a ~10^-15 event (the polynomial ``hashing.hash_keys`` is an ordering
    key, and polynomials mod 2^64 have known structured collisions, so it is not used here).
    """
    data = texts.cast(pa.large_binary()).to_pylist()
    joined = b"".join(xxhash.xxh3_128_digest(b"" if t is None else t) for t in data)
    return np.frombuffer(joined, dtype=np.uint64).reshape(-1, 2)


def group_keys(keys: np.ndarray) -> np.ndarray:
    """Equal rows of an (n, 2) key array share a group number (numbered by sorted key)."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((keys[:, 1], keys[:, 0]))
    ordered = keys[order]
    change = np.ones(len(keys), dtype=bool)
    change[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    group = np.empty(len(keys), dtype=np.int64)
    group[order] = np.cumsum(change) - 1
    return group


@dataclass
class SegmentScan:
    """Compact arrays over every segment of the documents a step reads (no strings kept).

    Segments are numbered document by document, in order. ``group`` numbers equal normalised
    segments alike; ``eligible`` marks segments that may be removed (non-blank once normalised,
    at least ``min_words`` words); ``first[d]`` is document ``d``'s first segment (length
    documents + 1); ``doc_hash`` is the seeded id hash per document.
    """

    group: np.ndarray
    doc_of: np.ndarray
    first: np.ndarray
    eligible: np.ndarray
    doc_hash: np.ndarray

    def sizes(self) -> np.ndarray:
        return np.diff(self.first)


def scan_segments(
    table: pa.Table,
    rows: np.ndarray | None,
    unit: Unit,
    normalization: Normalization,
    min_words: int,
    hash_salt: tuple[int, str],
    after_chunk: Callable[[], None],
) -> SegmentScan:
    """Segment, normalise and hash ``rows`` of ``table`` (None: all) a chunk of rows at a time.

    ``hash_salt`` is the (seed, salt) of the document id hash; ``after_chunk`` runs after each
    chunk (e.g. to release staged pages).
    """
    keys, eligible, sizes, doc_hash = [], [], [], []
    for _offset, chunk in row_chunks(table, rows):
        texts = chunk["text"].to_pylist()
        spans = [segment_spans(text, unit) for text in texts]
        pieces = pa.array(
            [text[a:b] for text, doc in zip(texts, spans, strict=True) for a, b in doc],
            pa.large_string(),
        )
        del texts
        normalized = normalization.apply(pieces)
        keys.append(content_keys(normalized))
        long_enough = column_values(count_words_array(pieces)) >= min_words
        eligible.append(long_enough & (column_values(pc.binary_length(normalized)) > 0))
        sizes.append(np.fromiter((len(doc) for doc in spans), np.int64, len(spans)))
        doc_hash.append(hash_keys(chunk["id"], *hash_salt))
        after_chunk()
    counts = np.concatenate(sizes) if sizes else np.zeros(0, dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return SegmentScan(
        group=group_keys(np.concatenate(keys) if keys else np.zeros((0, 2), np.uint64)),
        doc_of=np.repeat(np.arange(len(counts), dtype=np.int64), counts),
        first=first,
        eligible=np.concatenate(eligible) if eligible else np.zeros(0, dtype=bool),
        doc_hash=np.concatenate(doc_hash) if doc_hash else np.zeros(0, dtype=np.uint64),
    )


def cut_segments(
    table: pa.Table,
    rows: np.ndarray,
    docs: np.ndarray,
    unit: Unit,
    drop: Callable[[int, int], list[bool]],
    reason: Callable[[int], str],
    after_chunk: Callable[[], None],
) -> Rewrite:
    """The rewrite that cuts segments out of documents ``docs``, a chunk of rows at a time.

    ``docs`` are ascending indexes into ``rows`` (the table rows a step reads);
    ``drop(doc, n)`` flags which of a document's ``n`` segments go, ``reason(doc)`` says why;
    ``after_chunk`` runs after each chunk (e.g. to release staged pages).
    """
    builder = RewriteBuilder()
    for offset, chunk in row_chunks(table, rows[docs]):
        part = docs[offset : offset + chunk.num_rows]
        new_texts, removed = [], []
        for doc, text in zip(part.tolist(), chunk["text"].to_pylist(), strict=True):
            spans = segment_spans(text, unit)
            kept, cut = remove_spans(text, spans, drop(doc, len(spans)))
            new_texts.append(kept)
            removed.append(cut)
        builder.add(rows[part], new_texts, removed, [reason(doc) for doc in part.tolist()])
        after_chunk()
    return builder.build()
