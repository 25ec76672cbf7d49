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

import numpy as np
import pyarrow as pa

from corpuskit.document import BLOCK_SCHEMA, conform
from corpuskit.step import RunContext
from corpuskit.tally import column_values
from corpuskit.words import count_words_array

# Rows per chunk of a step's scan and of the rewritten table (read at call time: tests vary it).
CHUNK_ROWS = 1 << 15

TEXT, WORDS = 1, 3  # column positions in BLOCK_SCHEMA


@dataclass
class Rewrite:
    """The rows a rewriting step edits (ascending table row indices) and what it did to each.

    ``texts`` is the new text (blank: the document is dropped), ``removed`` the removed part and
    ``reasons`` the reason, one entry per row of ``rows``. Rows not listed stay as they are.
    """

    rows: np.ndarray
    texts: pa.Array
    removed: pa.Array
    reasons: pa.Array

    def __post_init__(self) -> None:
        self.rows = np.asarray(self.rows, dtype=np.int64)
        sizes = {len(self.rows), len(self.texts), len(self.removed), len(self.reasons)}
        if len(sizes) != 1:
            raise ValueError("Rewrite needs one text, removed part and reason per edited row")
        if len(self.rows) > 1 and not bool(np.all(np.diff(self.rows) > 0)):
            raise ValueError("Rewrite rows must be unique and ascending")


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
        def joined(parts: list[pa.Array], kind: pa.DataType) -> pa.Array:
            return pa.concat_arrays(parts) if parts else pa.array([], kind)

        rows = np.concatenate(self.rows) if self.rows else np.zeros(0, dtype=np.int64)
        return Rewrite(
            rows,
            joined(self.texts, pa.large_string()),
            joined(self.removed, pa.large_string()),
            joined(self.reasons, pa.string()),
        )


def row_chunks(table: pa.Table, rows: np.ndarray | None = None) -> Iterator[tuple[int, pa.Table]]:
    """(offset into ``rows``, those rows of ``table``) for ``CHUNK_ROWS`` rows at a time.

    ``rows`` None means every row (zero-copy slices); otherwise only the listed rows are copied,
    one chunk at a time.
    """
    size = CHUNK_ROWS
    if rows is None:
        for start in range(0, table.num_rows, size):
            yield start, table.slice(start, size)
        return
    for start in range(0, len(rows), size):
        yield start, table.take(pa.array(rows[start : start + size], pa.int64()))


def apply_rewrite(table: pa.Table, result: Rewrite, ctx: RunContext, label: str) -> pa.Table:
    """Replace texts, drop rows left empty, and reject the removed fragments (see module doc).

    Rejects come in the order the rows were: first every dropped document, then every fragment
    (the rejects shard's bytes follow that order).
    """
    rows = result.rows
    # A text is blank exactly when it has no words: str.split and str.strip share one predicate.
    emptied = column_values(count_words_array(result.texts)) == 0
    _reject_rows(table, rows[emptied], result.reasons.filter(pa.array(emptied)), ctx, label)
    partial = np.flatnonzero(~emptied)
    for start in range(0, len(partial), CHUNK_ROWS):
        picked = pa.array(partial[start : start + CHUNK_ROWS], pa.int64())
        fragments = result.removed.take(picked)
        part = table.take(pa.array(rows[partial[start : start + CHUNK_ROWS]], pa.int64()))
        part = part.set_column(TEXT, BLOCK_SCHEMA.field(TEXT), fragments)
        part = part.set_column(WORDS, BLOCK_SCHEMA.field(WORDS), count_words_array(fragments))
        reasons = [f"{r}_fragment" for r in result.reasons.take(picked).to_pylist()]
        ctx.reject(part, step=label, reasons=reasons)
        ctx.release_pages()
    if len(partial):
        ctx.count(label, "docs_edited", len(partial))
    pieces = []
    for start in range(0, table.num_rows, CHUNK_ROWS):
        pieces.append(_rewrite_chunk(table.slice(start, CHUNK_ROWS), start, result, emptied))
        ctx.release_pages()  # the staged pages this chunk read: its output is built
    return pa.concat_tables(pieces) if pieces else conform(table, BLOCK_SCHEMA)


def _reject_rows(
    table: pa.Table, rows: np.ndarray, reasons: pa.Array, ctx: RunContext, label: str
) -> None:
    """Reject whole ``rows`` of ``table`` with ``reasons``, copying a chunk of rows at a time."""
    for start in range(0, len(rows), CHUNK_ROWS):
        part = table.take(pa.array(rows[start : start + CHUNK_ROWS], pa.int64()))
        ctx.reject(part, step=label, reasons=reasons.slice(start, CHUNK_ROWS))
        ctx.release_pages()


def _rewrite_chunk(chunk: pa.Table, start: int, result: Rewrite, emptied: np.ndarray) -> pa.Table:
    """Rows ``start``.. of the output: new texts placed, words recounted, emptied rows dropped."""
    lo, hi = np.searchsorted(result.rows, [start, start + chunk.num_rows])
    text = chunk["text"]
    if hi > lo:
        old = text.combine_chunks().cast(pa.large_string())
        index = np.arange(len(old), dtype=np.int64)
        index[result.rows[lo:hi] - start] = len(old) + np.arange(hi - lo)
        text = pa.concat_arrays([old, result.texts.slice(lo, hi - lo)]).take(pa.array(index))
    # Every row's words are recounted (unedited ones too), as a whole-table rewrite did.
    out = chunk.set_column(TEXT, BLOCK_SCHEMA.field(TEXT), text)
    out = out.set_column(WORDS, BLOCK_SCHEMA.field(WORDS), count_words_array(text))
    dropped = result.rows[lo:hi][emptied[lo:hi]] - start
    if len(dropped):
        keep = np.ones(chunk.num_rows, dtype=bool)
        keep[dropped] = False
        out = out.filter(pa.array(keep))
    return conform(out, BLOCK_SCHEMA)
