"""A generator's ``max_words`` and rate limits, per build: partition allowances, then an exact trim.

Stage 1 runs each source partition as its own task, on any worker, in any order, so no task can
see what the others generated without making the output depend on timing. Each task therefore
gets a fixed *allowance* of generated words, and stage 2, which sees every candidate, keeps
exactly ``max_words``: the generator's documents in the seeded hash order of their ids
(:func:`corpuskit.hashing.hash_order`, salted with the generator's label), up to the first one
that would overshoot. The rest are dropped with reason ``generator_quota`` (rejects shard,
ledger, ``manifest["reports"][label]``). Both steps depend only on the recipe and the data, so the
output is the same for any worker count and input order.

Sizing the allowance, with P the partitions of the sources the generator reads and h its
``partition_headroom``: ``min(max_words, ceil(h * max_words / P))``. The trade-off: every word
generated beyond ``max_words`` is a request paid for and then trimmed (at most ``(h - 1) *
max_words`` words plus one document per partition), while partitions holding fewer seeds than their
allowance cannot lend it to the others, so with h = 1 a build whose seeds sit unevenly in its
partitions falls short of ``max_words``. The default h = 1.5 still fills the quota when up to a
third of the partitions run dry before their allowance (the others make 1.5x their share), for
at most 50% more requests. ``partition_headroom: null`` gives every partition the whole quota: the
quota is met whenever the seeds suffice, for up to P times the requests. Trimmed answers stay in
the generation cache, so a rebuild, or a build with a larger ``max_words``, asks for them again at
no cost.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpuskit.hashing import hash_order
from corpuskit.step import RunContext
from corpuskit.tally import column_values
from corpuskit.words import count_words

if TYPE_CHECKING:
    from corpuskit.generators.base import Generator
    from corpuskit.recipe import Recipe

QUOTA_REASON = "generator_quota"


class WordQuota:
    """Words admitted so far against an optional limit; ``admit`` refuses what would overshoot."""

    def __init__(self, limit: int | None):
        self.limit = limit
        self.used = 0
        self.full = False
        self.reported = False  # ``quota_reached`` is counted once per task

    def admit(self, text: str) -> bool:
        words = count_words(text)
        if self.full or (self.limit is not None and self.used + words > self.limit):
            self.full = True
            return False
        self.used += words
        return True


def generator_partitions(gen: Generator, ctx: RunContext) -> int:
    """Partitions of this build that the generator sees (1 when run outside a build)."""
    names = ctx.partitions.keys() if gen.only_sources is None else gen.only_sources
    return max(1, sum(ctx.partitions.get(name, 0) for name in names))


def partition_allowance(gen: Generator, ctx: RunContext) -> int | None:
    """Generated words one stage-1 task may produce (None: unlimited)."""
    if gen.max_words is None:
        return None
    parts = generator_partitions(gen, ctx)
    if gen.partition_headroom is None or parts == 1:
        return gen.max_words
    return min(gen.max_words, math.ceil(gen.partition_headroom * gen.max_words / parts))


def partition_quota(gen: Generator, ctx: RunContext, label: str) -> WordQuota:
    """The task's quota for this generator, shared by every block of the partition."""
    quota = ctx.state.get(f"{label}.quota")
    if not isinstance(quota, WordQuota):
        quota = ctx.state[f"{label}.quota"] = WordQuota(partition_allowance(gen, ctx))
    return quota


def rate_share(limit: float | None, gen: Generator, ctx: RunContext) -> float | None:
    """This worker's share of a per-build rate limit: divided by the workers running at once."""
    if limit is None:
        return None
    return limit / max(1, min(ctx.workers, generator_partitions(gen, ctx)))


def trim_to_quotas(recipe: Recipe, table: pa.Table, ctx: RunContext) -> pa.Table:
    """Stage 2: keep at most ``max_words`` generated words per generator, in seeded hash order.

    Trimmed documents are rejected with reason ``generator_quota`` under the generator's label,
    its ledger row's ``docs_out``/``words_out`` shrink by them, and ``ctx.reports[label]`` says
    how many candidates stage 1 made and how many were kept.
    """
    from corpuskit.generators.base import Generator
    from corpuskit.pipeline import block_step_labels

    capped = {
        label: step
        for label, step in block_step_labels(recipe)
        if isinstance(step, Generator) and step.max_words is not None
    }
    if not capped or table.num_rows == 0:
        return table
    synthetic = column_values(pc.match_substring(table["meta"], '"synthetic":true'))
    rows = np.flatnonzero(synthetic)
    steps = np.array(
        [step_of(meta) for meta in table["meta"].take(pa.array(rows)).to_pylist()], dtype=object
    )
    words = column_values(table["words"])
    dropped = np.zeros(table.num_rows, dtype=bool)
    for label, gen in capped.items():
        assert gen.max_words is not None
        mine = rows[steps == label]
        order = mine[hash_order(table["id"].take(pa.array(mine)), ctx.seed, salt=label)]
        kept = int(np.searchsorted(np.cumsum(words[order]), gen.max_words, side="right"))
        trimmed = np.sort(order[kept:])
        dropped[trimmed] = True
        trimmed_words = int(words[trimmed].sum())
        ctx.reject(
            table.take(pa.array(trimmed, pa.int64())),
            step=label,
            reasons=[QUOTA_REASON] * len(trimmed),
        )
        ctx.stats[f"{label}.docs_out"] -= len(trimmed)
        ctx.stats[f"{label}.words_out"] -= trimmed_words
        candidate_words = int(words[mine].sum())
        ctx.reports[label] = {
            "kind": gen.kind,
            "max_words": gen.max_words,
            "candidates": {"docs": len(mine), "words": candidate_words},
            "kept": {"docs": kept, "words": candidate_words - trimmed_words},
            "trimmed": {"docs": len(trimmed), "words": trimmed_words},
        }
    return table.filter(pa.array(~dropped)) if dropped.any() else table


def step_of(meta: str) -> Any:
    """The label of the generator step that made a document (from its meta JSON)."""
    generator = json.loads(meta).get("generator")
    return generator.get("step") if isinstance(generator, dict) else None
