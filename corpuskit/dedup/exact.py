"""The ``exact`` dedup: one document per normalised text."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa
from pydantic import Field

from corpuskit.dedup.base import ClusterDedup, Reasons, reasons_at
from corpuskit.dedup.normalize import Normalization
from corpuskit.dedup.report import cluster_report, publish_report
from corpuskit.dedup.rewrite import row_chunks
from corpuskit.dedup.segments import content_keys, group_keys
from corpuskit.step import RunContext


class ExactDedup(ClusterDedup, kind="exact"):
    """Drop documents whose normalised text equals another's; keep one per normalised text.

    Texts are normalised a chunk of rows at a time and stand in for themselves by a 128-bit
    content hash (as in ``lines``/``sentences``: a collision among even 10^12 distinct texts is a
    ~10^-15 event), so the step holds 16 bytes a document rather than a normalised copy of the
    corpus. The kept copy is chosen by ``source_priority``, ``prefer`` and then the smallest id,
    never by arrival order.

    Drop reasons: ``dup_exact``.
    """

    drop_reasons: ClassVar[tuple[str, ...]] = ("dup_exact",)

    normalization: Normalization = Field(
        default_factory=Normalization, description="what differences do not count"
    )

    def duplicates(self, table: pa.Table, ctx: RunContext) -> Reasons:
        rows = self.participating(table)
        sub = table.take(pa.array(rows)) if len(rows) != table.num_rows else table
        keys = np.empty((sub.num_rows, 2), dtype=np.uint64)
        for start, chunk in row_chunks(sub.select(["text"])):
            normalized = self.normalization.apply(chunk["text"])
            keys[start : start + chunk.num_rows] = content_keys(normalized)
            ctx.release_pages()
        cluster = group_keys(keys)
        del keys
        drop = self.resolve(sub, cluster)
        ctx.release_pages()
        publish_report(ctx, self.kind, cluster_report(sub, cluster, drop))
        return reasons_at(rows[drop], table.num_rows, "dup_exact")
