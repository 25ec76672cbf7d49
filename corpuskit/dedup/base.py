"""Dedup: global steps that see the whole filtered corpus and name each duplicate's reason.

Two kinds of global step share this family:

* deciders implement ``duplicates(table, ctx)``: one reason per row (None keeps the row);
* rewriters (``lines``, ``sentences``, sentence-level ``decontaminate``) remove parts of documents.
  They implement ``rewrite(table, ctx)`` returning a sparse ``Rewrite`` (the edited rows, each
  with its new text, removed part and reason), which ``apply`` turns into a table chunk by chunk
  (:func:`corpuskit.dedup.rewrite.apply_rewrite`): rows left empty are
  dropped with the reason, edited rows keep their id and get their words recounted, and every
  removed fragment goes to the rejects shard with the reason suffixed ``_fragment``. Words
  therefore add up exactly: words in = words out + words in rejects.

``apply(table, ctx, label)`` is what stage 2 runs for every dedup step.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Literal, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from corpuskit.dedup.rewrite import Rewrite, apply_rewrite, take_rows
from corpuskit.errors import BuildError
from corpuskit.filters.base import as_string_array
from corpuskit.step import CheckContext, RunContext, Step
from corpuskit.tally import column_values

Reasons: TypeAlias = Sequence[str | None] | pa.Array | pa.ChunkedArray


REJECT_SLICE_ROWS = 1 << 16


class Dedup(Step):
    """Base of dedup and decontamination steps.

    ``duplicates(table, ctx)`` receives every kept document (columns id, text, source, words, meta)
    in a canonical order that depends only on the inputs, and returns one reason per row (None
    keeps the row). Because the decision sees the whole table, it cannot depend on worker count.
    """

    family: ClassVar[str] = "dedup"
    drop_reasons: ClassVar[tuple[str, ...]] = ()

    def duplicates(self, table: pa.Table, ctx: RunContext) -> Reasons:
        raise NotImplementedError(f"{type(self).__name__} must implement duplicates()")

    def input_files(self, ctx: CheckContext) -> list[Path]:
        """Files this step reads (e.g. evaluation sets), for the build's input fingerprints."""
        return []

    def rewrite(self, table: pa.Table, ctx: RunContext) -> Rewrite | None:
        """Partial removals; None (the default) means this step only drops whole documents."""
        return None

    def apply(self, table: pa.Table, ctx: RunContext, label: str) -> pa.Table:
        """Run the step on the whole table: reject what it removes, return what stays."""
        result = self.rewrite(table, ctx)
        if result is not None:
            return apply_rewrite(table, result, ctx, label)
        reasons = as_string_array(self.duplicates(table, ctx))
        ctx.release_pages()
        dropped = pc.is_valid(reasons)
        # Rejected rows are copied a slice at a time: a stage-2 reject sink writes each copy out
        # (and frees it) before the next, where one copy could hold most of a build.
        for start in range(0, table.num_rows, REJECT_SLICE_ROWS):
            part = dropped.slice(start, REJECT_SLICE_ROWS)
            rows = table.slice(start, REJECT_SLICE_ROWS).filter(part)
            ctx.reject(
                rows, step=label, reasons=reasons.slice(start, REJECT_SLICE_ROWS).filter(part)
            )
        return table.filter(pc.invert(dropped))

    def participating(self, table: pa.Table) -> np.ndarray:
        """Row indices this step looks at (``only_sources``), in table order."""
        if self.only_sources is None:
            return np.arange(table.num_rows, dtype=np.int64)
        mask = pc.is_in(table["source"], value_set=pa.array(self.only_sources, pa.string()))
        return np.flatnonzero(column_values(mask)).astype(np.int64)


def reasons_at(rows: np.ndarray, n: int, reason: str) -> pa.Array:
    """``n`` reasons: ``reason`` at ``rows``, null (kept) elsewhere; an Arrow array, not a list
    of ``n`` Python objects (13.6M rows at 100M words of line-level text)."""
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return pc.if_else(pa.array(mask), pa.scalar(reason), pa.scalar(None, pa.string()))


def not_a_decider(step: Dedup) -> BuildError:
    """The error a rewriting step raises when a caller uses ``duplicates`` instead of ``apply``."""
    return BuildError(
        f"dedup kind {step.kind!r} rewrites documents and must be run through Dedup.apply()",
        hint="stage 2 must call step.apply(table, ctx, label) for every dedup step",
    )


Prefer = Literal["natural", "synthetic", "none"]
Scope = Literal["all", "within_source", "cross_source"]


class RankedDedup(Dedup):
    """A dedup that decides which copy to keep by source priority, then natural vs synthetic."""

    source_priority: list[str] = Field(
        default_factory=list,
        description="sources whose copy is kept first, in order; unlisted sources come after",
    )
    prefer: Prefer = Field(
        default="natural",
        description="at equal source priority keep natural text (or synthetic, or either)",
    )

    def rank_columns(self, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        """(source rank, synthetic rank) per row: smaller wins."""
        order = {name: i for i, name in enumerate(self.source_priority)}  # a repeat: its last place
        # Vectorised lookup (no Python string per row): position among the distinct listed names.
        listed = pa.array(list(order), pa.string())
        where = pc.fill_null(pc.index_in(table["source"], value_set=listed), len(order))
        ranks = np.array([*order.values(), len(order)], dtype=np.int64)
        source_rank = ranks[column_values(where).astype(np.int64)]
        synthetic = column_values(pc.match_substring(table["meta"], '"synthetic":true'))
        if self.prefer == "natural":
            synth_rank = synthetic.astype(np.int64)
        elif self.prefer == "synthetic":
            synth_rank = (~synthetic).astype(np.int64)
        else:
            synth_rank = np.zeros(table.num_rows, dtype=np.int64)
        return source_rank, synth_rank


class ClusterDedup(RankedDedup):
    """A dedup that groups rows into clusters and keeps one representative per cluster.

    The representative is chosen by a stable rule, never arrival order: first by
    ``source_priority`` (earlier listed sources win), then by ``prefer`` (natural or synthetic
    text, from ``meta.synthetic``), then by the smallest id.
    """

    scope: Scope = Field(
        default="all",
        description="all: one copy per cluster; within_source: clusters never span sources; "
        "cross_source: drop only copies in other sources than the kept one",
    )

    def resolve(self, table: pa.Table, cluster: np.ndarray) -> np.ndarray:
        """Boolean mask of rows to drop, given a cluster label per row (-1: in no cluster).

        Only rows that share a cluster can be dropped, so only those are ranked (a sort by
        cluster, ranks, id and text): in a corpus with few duplicates that is a small share.
        """
        n = table.num_rows
        drop = np.zeros(n, dtype=bool)
        if n == 0:
            return drop
        cluster = cluster.astype(np.int64).copy()
        singles = cluster < 0
        cluster[singles] = cluster.max(initial=-1) + 1 + np.arange(int(singles.sum()))
        source_codes = pc.dictionary_encode(table["source"]).combine_chunks()
        src = _stable_codes(source_codes)
        if self.scope == "within_source":
            cluster = cluster * (int(src.max(initial=0)) + 1) + src
        _, members, sizes = np.unique(cluster, return_inverse=True, return_counts=True)
        rows = np.flatnonzero(sizes[members] >= 2)
        if len(rows) == 0:
            return drop
        shared = take_rows(table.select(["id", "text", "source", "meta"]), rows)
        source_rank, synth_rank = self.rank_columns(shared)
        cluster = cluster[rows]
        keyed = pa.table(
            {
                "cluster": cluster,
                "source_rank": source_rank,
                "synth_rank": synth_rank,
                "id": shared["id"],
                "text": shared["text"],
            }
        )
        order = pc.sort_indices(keyed, sort_keys=[(c, "ascending") for c in keyed.column_names])
        order = order.to_numpy()
        sorted_cluster = cluster[order]
        head = np.ones(len(rows), dtype=bool)
        head[1:] = sorted_cluster[1:] != sorted_cluster[:-1]
        rep_of_sorted = order[np.maximum.accumulate(np.where(head, np.arange(len(rows)), 0))]
        rep = np.empty(len(rows), dtype=np.int64)
        rep[order] = rows[rep_of_sorted]
        drop[rows] = rep != rows
        if self.scope == "cross_source":
            drop[rows] &= src[rows] != src[rep]
        return drop


def _stable_codes(encoded: pa.DictionaryArray) -> np.ndarray:
    """Dictionary codes renumbered by sorted value, so they do not depend on arrival order."""
    values = encoded.dictionary.to_pylist()
    rank = np.argsort(np.argsort(np.array(values, dtype=object), kind="stable"))
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return rank[codes] if len(values) else codes
