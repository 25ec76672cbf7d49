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

from collections import Counter
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
from pydantic import Field

from corpuskit.dedup.base import RankedDedup, Reasons, Rewrite, expand, not_a_decider
from corpuskit.dedup.exact import group_ids
from corpuskit.dedup.normalize import Normalization
from corpuskit.dedup.report import clip, publish_report, removed_by_source
from corpuskit.dedup.segments import Unit, remove_spans, segment_spans
from corpuskit.hashing import hash_keys
from corpuskit.step import RunContext
from corpuskit.words import count_words


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
        sub = table.take(pa.array(rows)) if len(rows) != table.num_rows else table
        texts = sub["text"].to_pylist()
        spans = [segment_spans(t, self.unit) for t in texts]
        doc_of = np.repeat(np.arange(len(texts)), [len(s) for s in spans])
        position = np.concatenate([np.arange(len(s)) for s in spans] or [np.zeros(0, int)])
        segments = [texts[d][a:b] for d, s in enumerate(spans) for a, b in s]
        remove = self.removals(sub, segments, doc_of, position, ctx.seed)
        new_texts: list[str | None] = [None] * len(texts)
        removed: list[str | None] = [None] * len(texts)
        cursor = 0
        for d, doc_spans in enumerate(spans):
            flags = remove[cursor : cursor + len(doc_spans)].tolist()
            cursor += len(doc_spans)
            if any(flags):
                new_texts[d], removed[d] = remove_spans(texts[d], doc_spans, flags)
        self._report(sub, segments, remove, new_texts, removed, ctx)
        reasons = [self.reason if t is not None else None for t in new_texts]
        n = table.num_rows
        return Rewrite(
            expand(new_texts, rows, n), expand(removed, rows, n), expand(reasons, rows, n)
        )

    def removals(
        self,
        sub: pa.Table,
        segments: list[str],
        doc_of: np.ndarray,
        position: np.ndarray,
        seed: int,
    ) -> np.ndarray:
        """Boolean per segment: remove it (a repeat beyond the first ``keep``)."""
        if not segments:
            return np.zeros(0, dtype=bool)
        keys = self.normalization.apply(pa.array(segments, pa.large_string()))
        group = group_ids(keys)
        counts = np.bincount(group)
        source_rank, synth_rank = self.rank_columns(sub)
        doc_hash = hash_keys(sub["id"], seed, salt=self.kind)
        order = np.lexsort(
            (position, doc_of, doc_hash[doc_of], synth_rank[doc_of], source_rank[doc_of], group)
        )
        sorted_group = group[order]
        first = np.searchsorted(sorted_group, sorted_group, side="left")
        occurrence = np.empty(len(group), dtype=np.int64)
        occurrence[order] = np.arange(len(group)) - first
        long_enough = np.fromiter((count_words(s) >= self.min_words for s in segments), bool)
        blank = pa.compute.binary_length(keys).to_numpy() == 0
        return (counts[group] >= self.min_count) & (occurrence >= self.keep) & long_enough & ~blank

    def _report(
        self,
        sub: pa.Table,
        segments: list[str],
        remove: np.ndarray,
        new_texts: list[str | None],
        removed: list[str | None],
        ctx: RunContext,
    ) -> None:
        emptied = np.array([t is not None and not t.strip() for t in new_texts], dtype=bool)
        top = Counter(self.normalization.one(s) for s in np.array(segments, object)[remove])
        report: dict[str, Any] = {
            "segments": len(segments),
            "segments_removed": int(remove.sum()),
            "docs_removed": int(emptied.sum()),
            "docs_edited": sum(1 for t in new_texts if t is not None and t.strip()),
            "words_removed": sum(count_words(r) for r in removed if r),
            "removed_by_source": removed_by_source(sub, emptied),
            "most_removed": [{"text": clip(t), "removed": c} for t, c in top.most_common(10)],
        }
        publish_report(ctx, self.kind, report)


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
