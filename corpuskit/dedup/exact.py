"""The ``exact`` dedup: one document per normalised text."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from corpuskit.dedup.base import ClusterDedup, Reasons, reasons_at
from corpuskit.dedup.normalize import Normalization
from corpuskit.dedup.report import cluster_report, publish_report
from corpuskit.step import RunContext


class ExactDedup(ClusterDedup, kind="exact"):
    """Drop documents whose normalised text equals another's; keep one per normalised text.

    Texts are grouped by their full normalised form (no hash, so no collisions). The kept copy is
    chosen by ``source_priority``, ``prefer`` and then the smallest id, never by arrival order.

    Drop reasons: ``dup_exact``.
    """

    drop_reasons: ClassVar[tuple[str, ...]] = ("dup_exact",)

    normalization: Normalization = Field(
        default_factory=Normalization, description="what differences do not count"
    )

    def duplicates(self, table: pa.Table, ctx: RunContext) -> Reasons:
        rows = self.participating(table)
        sub = table.take(pa.array(rows)) if len(rows) != table.num_rows else table
        keys = self.normalization.apply(sub["text"], ctx.release_pages)  # pages freed per chunk
        cluster = group_ids(keys)
        del keys  # as large as the texts: not held while the report is made
        drop = self.resolve(sub, cluster)
        ctx.release_pages()
        publish_report(ctx, self.kind, cluster_report(sub, cluster, drop))
        return reasons_at(rows[drop], table.num_rows, "dup_exact")


def group_ids(keys: pa.Array) -> np.ndarray:
    """Equal keys share a group number (numbered by sorted key, so independent of row order)."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    order = pc.sort_indices(keys).to_numpy()
    sorted_keys = keys.take(pa.array(order))
    change = np.ones(len(keys), dtype=bool)
    change[1:] = pc.not_equal(sorted_keys[1:], sorted_keys[:-1]).to_numpy(zero_copy_only=False)
    group = np.empty(len(keys), dtype=np.int64)
    group[order] = np.cumsum(change) - 1
    return group
