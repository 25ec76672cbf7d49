"""The ``lines`` and ``sentences`` dedups: repeated lines or sentences across the corpus.

Small corpora are dominated by repeats such as dialogue back-channels ("Uh-huh.") or boilerplate
lines. These steps count every normalised line (or sentence) over the whole corpus and, for those
seen at least ``min_count`` times, keep the first ``keep`` occurrences and remove the rest. "First"
is a stable order: source priority, natural before synthetic, then a hash of the document id
seeded by the recipe seed (so the kept copies are spread over documents, not the
alphabetically first ones), then position in the document.

They rewrite documents (see :mod:`corpuskit.dedup.base`): a document that loses every segment is
dropped with reason ``dup_line`` / ``dup_sentence``; one that loses some keeps its id and the
removed part goes to the rejects shard with reason ``dup_line_fragment`` /
``dup_sentence_fragment``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
from pydantic import Field

from corpuskit.dedup.base import RankedDedup, Reasons, not_a_decider
from corpuskit.dedup.normalize import Normalization
from corpuskit.dedup.report import clip, publish_report, removed_by_source
from corpuskit.dedup.rewrite import Rewrite, settle
from corpuskit.dedup.segments import (
    SegmentScan,
    Unit,
    cut_segments,
    scan_segments,
    segment_spans,
)
from corpuskit.step import RunContext
from corpuskit.tally import column_values, distinct_sorted
from corpuskit.words import count_words_array


class _RepeatedSegments(RankedDedup):
    """Shared implementation of ``lines`` and ``sentences``."""

    unit: ClassVar[Unit] = "line"
    reason: ClassVar[str] = "dup_line"

    min_count: int = Field(
        default=2, ge=2, description="a segment is repeated when it occurs at least this often"
    )
    keep: int = Field(default=1, ge=0, description="occurrences of a repeated segment to keep")
    min_words: int = Field(
        default=1, ge=1, description="shorter segments (in words) are never removed"
    )
    normalization: Normalization = Field(
        default_factory=Normalization, description="what differences between segments do not count"
    )

    def duplicates(self, table: pa.Table, ctx: RunContext) -> Reasons:
        raise not_a_decider(self)

    def rewrite(self, table: pa.Table, ctx: RunContext) -> Rewrite:
        rows = self.participating(table)
        every = len(rows) == table.num_rows
        scan = scan_segments(
            table,
            None if every else rows,
            self.unit,
            self.normalization,
            self.min_words,
            (ctx.seed, self.kind),
            ctx.release_pages,
        )
        source_rank, synth_rank = self.rank_columns(table)
        ctx.release_pages()  # the source and meta pages the ranking read
        remove = self.removals(scan, source_rank[rows], synth_rank[rows])
        del source_rank, synth_rank
        settle(ctx)  # the sort temporaries
        result = self._edit(table, rows, scan, remove, ctx)
        self._report(table, rows, scan, remove, result, ctx)
        return result

    def removals(
        self, scan: SegmentScan, source_rank: np.ndarray, synth_rank: np.ndarray
    ) -> np.ndarray:
        """Boolean per segment: remove it (a repeat beyond the first ``keep``)."""
        group = scan.group
        if len(group) == 0:
            return np.zeros(0, dtype=bool)
        counts = np.bincount(group)
        docs = len(scan.doc_hash)
        # "First" order of the documents: source rank, synthetic rank, seeded id hash, row.
        doc_order = np.lexsort((np.arange(docs), scan.doc_hash, synth_rank, source_rank))
        # A segment's place in that order (then its position in its document), one int64 each.
        sizes = scan.sizes()
        start_in_order = np.empty(docs, dtype=np.int64)
        start_in_order[doc_order] = np.cumsum(sizes[doc_order]) - sizes[doc_order]
        doc_of = scan.doc_of
        place = start_in_order[doc_of] + (np.arange(len(doc_of)) - scan.first[doc_of])
        order = np.lexsort((place, group))
        del place
        sorted_group = group[order]
        first = np.searchsorted(sorted_group, sorted_group, side="left")
        occurrence = np.empty(len(group), dtype=np.int64)
        occurrence[order] = np.arange(len(group)) - first
        return (counts[group] >= self.min_count) & (occurrence >= self.keep) & scan.eligible

    def _edit(
        self,
        table: pa.Table,
        rows: np.ndarray,
        scan: SegmentScan,
        remove: np.ndarray,
        ctx: RunContext,
    ) -> Rewrite:
        """Cut the removed segments out of the documents that lose any, a chunk at a time."""
        first = scan.first
        return cut_segments(
            table,
            rows,
            distinct_sorted(scan.doc_of[remove]),
            self.unit,
            lambda doc, n: remove[first[doc] : first[doc] + n].tolist(),
            lambda _doc: self.reason,
            ctx.release_pages,
        )

    def _report(
        self,
        table: pa.Table,
        rows: np.ndarray,
        scan: SegmentScan,
        remove: np.ndarray,
        result: Rewrite,
        ctx: RunContext,
    ) -> None:
        emptied = result.emptied
        dropped = np.zeros(table.num_rows, dtype=bool)
        dropped[result.rows[emptied]] = True
        report: dict[str, Any] = {
            "segments": len(remove),
            "segments_removed": int(remove.sum()),
            "docs_removed": int(emptied.sum()),
            "docs_edited": int((~emptied).sum()),
            "words_removed": int(column_values(count_words_array(result.removed)).sum()),
            "removed_by_source": removed_by_source(table, dropped),
            "most_removed": self._most_removed(table, rows, scan, remove),
        }
        publish_report(ctx, self.kind, report)

    def _most_removed(
        self, table: pa.Table, rows: np.ndarray, scan: SegmentScan, remove: np.ndarray
    ) -> list[dict[str, Any]]:
        """The 10 most removed normalised segments (ties: the one removed first comes first)."""
        removed_at = np.flatnonzero(remove)
        groups = scan.group[removed_at]
        counts = np.bincount(groups, minlength=int(scan.group.max(initial=-1)) + 1)
        first = np.full(len(counts), len(remove), dtype=np.int64)
        np.minimum.at(first, groups, removed_at)  # each group's first removed segment
        del groups, removed_at
        present = np.flatnonzero(counts)
        top = present[np.lexsort((first[present], -counts[present]))[:10]]
        out = []
        for k in top.tolist():
            segment = int(first[k])
            doc = int(scan.doc_of[segment])
            text = table["text"][int(rows[doc])].as_py()
            start, end = segment_spans(text, self.unit)[segment - int(scan.first[doc])]
            out.append(
                {"text": clip(self.normalization.one(text[start:end])), "removed": int(counts[k])}
            )
        return out


class LineDedup(_RepeatedSegments, kind="lines"):
    """Remove repeated lines across the corpus, keeping the first ``keep`` of each.

    Drop reasons: ``dup_line`` (every line of the document was a repeat), and in the rejects
    shard ``dup_line_fragment`` (lines cut from a document that stays).
    """

    drop_reasons: ClassVar[tuple[str, ...]] = ("dup_line", "dup_line_fragment")
    unit: ClassVar[Unit] = "line"
    reason: ClassVar[str] = "dup_line"


class SentenceDedup(_RepeatedSegments, kind="sentences"):
    """Remove repeated sentences across the corpus, keeping the first ``keep`` of each.

    Drop reasons: ``dup_sentence`` and ``dup_sentence_fragment`` (as for ``lines``).
    """

    drop_reasons: ClassVar[tuple[str, ...]] = ("dup_sentence", "dup_sentence_fragment")
    unit: ClassVar[Unit] = "sentence"
    reason: ClassVar[str] = "dup_sentence"
