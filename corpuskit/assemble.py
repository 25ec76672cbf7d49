"""Stage 2 of a build: the global steps (dedup, budget, curriculum) over all staged documents."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpuskit.budget import budget_problems
from corpuskit.curriculum import curriculum_problems
from corpuskit.document import BLOCK_SCHEMA
from corpuskit.errors import RecipeError
from corpuskit.filters.base import as_string_array
from corpuskit.pipeline import TaskResult, account, account_rejects, labelled, read_staged
from corpuskit.recipe import Recipe
from corpuskit.step import RunContext


@dataclass
class Assembly:
    """The ordered output of a build: stages of shard tables, rejects, counters, reports."""

    stages: list[tuple[str, list[pa.Table]]]
    rejects: list[pa.Table]
    stats: Counter[str]
    words_by_source: dict[str, dict[str, int]]
    budget_report: dict[str, Any] = field(default_factory=dict)


def words_per_source(table: pa.Table) -> dict[str, int]:
    if table.num_rows == 0:
        return {}
    rows = table.group_by("source").aggregate([("words", "sum")]).to_pylist()
    return {r["source"]: int(r["words_sum"]) for r in rows}


def assemble(recipe: Recipe, results: list[TaskResult], ctx: RunContext) -> Assembly:
    """Dedup, budget and order the staged documents of every task (in canonical task order)."""
    problems = [*budget_problems(recipe), *curriculum_problems(recipe)]
    if problems:  # also checked by validation; here so that no build runs past them
        raise RecipeError(problems, file=recipe.file)
    staged = [read_staged(r.staged) for r in sorted(results, key=lambda r: r.index)]
    table = pa.concat_tables(staged) if staged else BLOCK_SCHEMA.empty_table()
    by_source: dict[str, dict[str, int]] = {"filtered": words_per_source(table)}
    rejects: list[pa.Table] = []
    for label, step in labelled(list(recipe.dedup)):
        account(ctx.stats, label, "in", table)
        reasons = as_string_array(step.duplicates(table, ctx))
        dropped = pc.is_valid(reasons)
        ctx.reject(table.filter(dropped), step=label, reasons=reasons.filter(dropped))
        table = table.filter(pc.invert(dropped))
        account(ctx.stats, label, "out", table)
    rejects.extend(ctx.rejects)
    account_rejects(ctx.stats, ctx.rejects)
    by_source["deduplicated"] = words_per_source(table)
    report: dict[str, Any] = {}
    if recipe.budget is not None:
        label = recipe.budget.kind
        account(ctx.stats, label, "in", table)
        selection = recipe.budget.select(table, ctx)
        table = selection.apply(table)
        account(ctx.stats, label, "out", table)
        report = selection.report
    by_source["selected"] = words_per_source(table)
    stages = [
        (
            stage.name,
            split_by_words(
                table.take(pa.array(stage.indices, pa.int64())), recipe.output.shard_words
            ),
        )
        for stage in recipe.curriculum.order(table, ctx)
    ]
    return Assembly(stages, rejects, ctx.stats, by_source, report)


def split_by_words(table: pa.Table, shard_words: int) -> list[pa.Table]:
    """Consecutive slices, a new one starting once ``shard_words`` words are reached."""
    if table.num_rows == 0:
        return []
    cumulative = np.cumsum(table["words"].to_numpy())
    shard_of_row = np.maximum(cumulative - 1, 0) // shard_words
    cuts = np.flatnonzero(np.diff(shard_of_row)) + 1
    bounds = [0, *cuts.tolist(), table.num_rows]
    return [table.slice(a, b - a) for a, b in itertools.pairwise(bounds) if b > a]
