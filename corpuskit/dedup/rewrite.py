"""Partial removals from documents, applied chunk by chunk: the ``Rewrite`` contract.

A rewriting dedup step (``lines``, ``sentences``, sentence-level ``decontaminate``) returns a
sparse :class:`Rewrite`: only the rows it edits, with their new text, the removed part and the
reason. :func:`apply_rewrite` turns it into the step's output table: rows left empty are dropped
with the reason, edited rows keep their id and get their words recounted, and every removed
fragment goes to the rejects shard as a row with the document's id, the removed text and the
reason suffixed ``_fragment``. Words therefore add up exactly: words in = words out + words in
rejects.

Everything here works ``CHUNK_ROWS`` rows at a time, so a step's Python strings are one chunk's
worth, never the whole build's (ARCHITECTURE: memory bounded by shard size, not corpus size).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpuskit.document import BLOCK_SCHEMA, conform
from corpuskit.memory import release_free_memory
from corpuskit.step import RunContext
from corpuskit.tally import column_values
from corpuskit.words import count_words_array

# At most this many rows, and about this many bytes of text, per chunk of a step's scan; the
# rewritten table is built CHUNK_ROWS rows at a time. Read at call time (tests vary them).
# A chunk's Python strings, segment spans and normalisation temporaries take ~15x its text
# (measured: a 32k-row, 8 MiB chunk of 6-line paragraphs cost 70-140 MiB), hence 2 MiB.
CHUNK_ROWS = 1 << 15
CHUNK_BYTES = 1 << 21
# Chunks smaller than these leave too little behind to be worth a heap trim (see settle()).
TRIM_BYTES = 1 << 18
TRIM_ROWS = 1 << 10

TEXT, WORDS = 1, 3  # column positions in BLOCK_SCHEMA


@dataclass
class Rewrite:
    """The rows a rewriting step edits (ascending table row indices) and what it did to each.

    ``texts`` is the new text (blank: the document is dropped), ``removed`` the removed part and
    ``reasons`` the reason, one entry per row of ``rows``. Rows not listed stay as they are.
    """

    rows: np.ndarray
    texts: pa.Array | pa.ChunkedArray
    removed: pa.Array | pa.ChunkedArray
    reasons: pa.Array | pa.ChunkedArray

    def __post_init__(self) -> None:
        self.rows = np.asarray(self.rows, dtype=np.int64)
        sizes = {len(self.rows), len(self.texts), len(self.removed), len(self.reasons)}
        if len(sizes) != 1:
            raise ValueError("Rewrite needs one text, removed part and reason per edited row")
        if len(self.rows) > 1 and not bool(np.all(np.diff(self.rows) > 0)):
            raise ValueError("Rewrite rows must be unique and ascending")

    @cached_property
    def emptied(self) -> np.ndarray:
        """Per edited row: its new text has no words, so the document is dropped.

        A text is blank exactly when it has no words: str.split and str.strip share one predicate.
        """
        return column_values(count_words_array(self.texts)) == 0


@dataclass
class RewriteBuilder:
    """Collects a rewrite chunk by chunk (each chunk's rows ascending and after the last's)."""

    rows: list[np.ndarray] = field(default_factory=list)
    texts: list[pa.Array] = field(default_factory=list)
    removed: list[pa.Array] = field(default_factory=list)
    reasons: list[pa.Array] = field(default_factory=list)

    def add(
        self, rows: np.ndarray, texts: list[str], removed: list[str], reasons: list[str]
    ) -> None:
        self.rows.append(np.asarray(rows, dtype=np.int64))
        self.texts.append(pa.array(texts, pa.large_string()))
        self.removed.append(pa.array(removed, pa.large_string()))
        self.reasons.append(pa.array(reasons, pa.string()))

    def build(self) -> Rewrite:
        # Chunked, not concatenated: a concatenation would hold every edited text twice.
        rows = np.concatenate(self.rows) if self.rows else np.zeros(0, dtype=np.int64)
        return Rewrite(
            rows,
            pa.chunked_array(self.texts, pa.large_string()),
            pa.chunked_array(self.removed, pa.large_string()),
            pa.chunked_array(self.reasons, pa.string()),
        )


def row_chunks(table: pa.Table, rows: np.ndarray | None = None) -> Iterator[tuple[int, pa.Table]]:
    """(offset into ``rows``, those rows of ``table``), a chunk of rows at a time.

    A chunk holds at most ``CHUNK_ROWS`` rows and, unless one row is larger, at most
    ``CHUNK_BYTES`` of text. ``rows`` None means every row (zero-copy slices); otherwise only the
    listed rows are copied, one chunk at a time.
    """
    lengths = pc.binary_length(table["text"])  # reads the offsets only
    if rows is not None:
        lengths = lengths.take(pa.array(rows, pa.int64()))
    ends = np.cumsum(column_values(lengths), dtype=np.int64)
    del lengths
    start = 0
    while start < len(ends):
        before = int(ends[start - 1]) if start else 0
        stop = int(np.searchsorted(ends, before + CHUNK_BYTES, side="right"))
        stop = min(max(stop, start + 1), start + CHUNK_ROWS)
        if rows is None:
            yield start, table.slice(start, stop - start)
        else:
            yield start, take_rows(table, rows[start:stop])
        if int(ends[stop - 1]) - before >= TRIM_BYTES:
            release_free_memory()  # see settle()
        start = stop


def settle(ctx: RunContext, rows: int = TRIM_ROWS) -> None:
    """After a chunk of ``rows`` rows: release its staged pages and return freed heap memory.

    glibc keeps freed memory in its heap (its mmap threshold rises after each large free), so
    without a trim each chunk's temporaries stayed resident: 314 -> 183 MiB before
    ``apply_rewrite`` on a 10M-word ``sentences`` build. A trim takes ~1 ms, so small chunks
    (tests run 1-row chunks) skip it.
    """
    ctx.release_pages()
    if rows >= TRIM_ROWS:
        release_free_memory()


def take_rows(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """``table.take(rows)`` for ascending ``rows``, gathered record batch by record batch.

    Arrow's take on a many-chunk table can join the chunks it reads first (seen as ~40 MiB
    jumps per call on a 10M-word build); a take within each record batch touches only that one.
    """
    if len(rows) == 0:
        return table.slice(0, 0)
    first, last = int(rows[0]), int(rows[-1])
    window = table.slice(first, last - first + 1)
    local = rows - first
    parts, offset = [], 0
    for batch in window.to_batches():
        lo, hi = np.searchsorted(local, [offset, offset + batch.num_rows])
        if hi > lo:
            parts.append(batch.take(pa.array(local[lo:hi] - offset, pa.int64())))
        offset += batch.num_rows
    return pa.Table.from_batches(parts, schema=table.schema)


def apply_rewrite(table: pa.Table, result: Rewrite, ctx: RunContext, label: str) -> pa.Table:
    """Replace texts, drop rows left empty, and reject the removed fragments (see module doc).

    Rejects come in the order the rows were: first every dropped document, then every fragment
    (the rejects shard's bytes follow that order).
    """
    rows, emptied = result.rows, result.emptied
    _reject_rows(table, rows[emptied], result.reasons.filter(pa.array(emptied)), ctx, label)
    for start in range(0, len(rows), CHUNK_ROWS):  # slices of the rewrite, never all of it
        kept = pa.array(~emptied[start : start + CHUNK_ROWS])
        fragments = _joined(result.removed.slice(start, CHUNK_ROWS)).filter(kept)
        if len(fragments) == 0:
            continue
        part = take_rows(
            table, rows[start : start + CHUNK_ROWS][~emptied[start : start + CHUNK_ROWS]]
        )
        part = part.set_column(TEXT, BLOCK_SCHEMA.field(TEXT), fragments)
        part = part.set_column(WORDS, BLOCK_SCHEMA.field(WORDS), count_words_array(fragments))
        reasons = _joined(result.reasons.slice(start, CHUNK_ROWS)).filter(kept).to_pylist()
        ctx.reject(part, step=label, reasons=[f"{r}_fragment" for r in reasons])
        settle(ctx, part.num_rows)
    if not emptied.all():
        ctx.count(label, "docs_edited", int((~emptied).sum()))
    pieces = []
    for start in range(0, table.num_rows, CHUNK_ROWS):
        pieces.append(_rewrite_chunk(table.slice(start, CHUNK_ROWS), start, result, emptied))
        settle(ctx, pieces[-1].num_rows)  # the staged pages this chunk read: its output is built
    return pa.concat_tables(pieces) if pieces else conform(table, BLOCK_SCHEMA)


def _reject_rows(
    table: pa.Table, rows: np.ndarray, reasons: pa.Array, ctx: RunContext, label: str
) -> None:
    """Reject whole ``rows`` of ``table`` with ``reasons``, copying a chunk of rows at a time."""
    for start in range(0, len(rows), CHUNK_ROWS):
        part = take_rows(table, rows[start : start + CHUNK_ROWS])
        ctx.reject(part, step=label, reasons=reasons.slice(start, CHUNK_ROWS))
        settle(ctx, part.num_rows)


def _rewrite_chunk(chunk: pa.Table, start: int, result: Rewrite, emptied: np.ndarray) -> pa.Table:
    """Rows ``start``.. of the output: new texts placed, words recounted, emptied rows dropped."""
    lo, hi = np.searchsorted(result.rows, [start, start + chunk.num_rows])
    text = chunk["text"]
    if text.type != pa.large_string():  # staged tables already are: no cast, no page read
        text = text.cast(pa.large_string())
    if hi > lo:
        old = text.combine_chunks()
        index = np.arange(len(old), dtype=np.int64)
        index[result.rows[lo:hi] - start] = len(old) + np.arange(hi - lo)
        text = pa.concat_arrays([old, _joined(result.texts.slice(lo, hi - lo))])
        text = text.take(pa.array(index))
    # Every row's words are recounted (unedited ones too), as a whole-table rewrite did.
    out = chunk.set_column(TEXT, BLOCK_SCHEMA.field(TEXT), text)
    out = out.set_column(WORDS, BLOCK_SCHEMA.field(WORDS), count_words_array(text))
    dropped = result.rows[lo:hi][emptied[lo:hi]] - start
    if len(dropped):
        keep = np.ones(chunk.num_rows, dtype=bool)
        keep[dropped] = False
        out = out.filter(pa.array(keep))
    return conform(out, BLOCK_SCHEMA)


def _joined(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One array of a (small) slice of the rewrite."""
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
