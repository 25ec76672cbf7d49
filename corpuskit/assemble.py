"""Stage 2 of a build: the global steps (dedup, budget, curriculum) over all staged documents."""

from __future__ import annotations

import difflib
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from corpuskit.budget import WordBudget, apportion
from corpuskit.curriculum import curriculum_problems
from corpuskit.document import BLOCK_SCHEMA
from corpuskit.errors import ErrorItem, RecipeError
from corpuskit.generators.quota import trim_to_quotas
from corpuskit.memory import StagedFiles
from corpuskit.pipeline import TaskResult, account, account_rejects, labelled, streamed_rejects
from corpuskit.recipe import Recipe
from corpuskit.shards import ShardRows
from corpuskit.step import RunContext
from corpuskit.tally import gather_values, sums_by
from corpuskit.words import count_words

_PIECE_ROWS = 1 << 16  # rows per piece of split_by_words' running total (512 KiB of int64)


def _no_op() -> None:
    pass


@dataclass
class Assembly:
    """The ordered output of a build: stages of shard tables, rejects, counters, reports.

    ``files`` maps the staged files the shard tables point into; releasing it while writing
    keeps their pages from piling up in memory.
    """

    stages: list[tuple[str, list[ShardRows]]]
    rejects: list[pa.Table]  # kept in memory when assemble() was given no rejects file
    stats: Counter[str]
    words_by_source: dict[str, dict[str, int]]
    budget_report: dict[str, Any] = field(default_factory=dict)
    files: StagedFiles = field(default_factory=StagedFiles)
    rejects_file: str | None = None  # stage 2's rejects, streamed there as steps made them


def words_per_source(
    table: pa.Table, after_batch: Callable[[], None] | None = None
) -> dict[str, int]:
    sums = sums_by(table, ["source"], "words", after_batch)
    return {source: words for (source,), (_, words) in sums.items()}


class _SourceWords:
    """``words_per_source`` that scans a table once: steps that removed nothing return it as is."""

    def __init__(self, after_batch: Callable[[], None]) -> None:
        self.after_batch = after_batch
        self.last: tuple[pa.Table, dict[str, int]] | None = None

    def __call__(self, table: pa.Table) -> dict[str, int]:
        if self.last is None or self.last[0] is not table:
            self.last = (table, words_per_source(table, self.after_batch))
        return dict(self.last[1])


def assemble(
    recipe: Recipe, results: list[TaskResult], ctx: RunContext, rejects_file: Path | None = None
) -> Assembly:
    """Dedup, budget and order the staged documents of every task (in canonical task order).

    With ``rejects_file``, what the steps reject is written there as they reject it (a dedup step
    can reject most of a build) instead of being held until the shards are written.
    """
    problems = stage2_problems(recipe)
    if problems:  # validation checks these too; here so that no build runs past them
        raise RecipeError(problems, file=recipe.file)
    files = StagedFiles()
    ctx.page_release = files.release
    if rejects_file is None:
        assembly = _assemble(recipe, results, ctx, files)
        assembly.rejects = list(ctx.rejects)
        account_rejects(ctx.stats, ctx.rejects)
        return assembly
    # after each write: the staged pages the rejected rows were copied from
    with streamed_rejects(rejects_file, ctx.stats, ctx, after_write=files.release):
        assembly = _assemble(recipe, results, ctx, files)
    assembly.rejects_file = str(rejects_file)
    return assembly


def _assemble(
    recipe: Recipe, results: list[TaskResult], ctx: RunContext, files: StagedFiles
) -> Assembly:
    # Steps touch only the columns they read; the pages they touched are released after each.
    staged = [files.read(r.staged) for r in sorted(results, key=lambda r: r.index)]
    table = pa.concat_tables(staged) if staged else BLOCK_SCHEMA.empty_table()
    table = trim_to_quotas(recipe, table, ctx)  # each generator's max_words, for the whole build
    files.release()  # the columns trim_to_quotas scanned (none when no generator is capped)
    source_words = _SourceWords(files.release)  # scans release their pages batch by batch
    by_source: dict[str, dict[str, int]] = {"filtered": source_words(table)}
    for label, step in labelled(list(recipe.dedup)):
        account(ctx.stats, label, "in", table)
        table = step.apply(table, ctx, label)  # drops (or rewrites) and rejects what it removes
        account(ctx.stats, label, "out", table)
        files.release()
    by_source["deduplicated"] = source_words(table)
    report: dict[str, Any] = {}
    if recipe.budget is not None:
        label = recipe.budget.kind
        account(ctx.stats, label, "in", table)
        selection = recipe.budget.select(table, ctx)
        table = selection.apply(table)
        account(ctx.stats, label, "out", table)
        report = selection.report
        files.release()
    by_source["selected"] = source_words(table)
    stages = [
        (stage.name, split_by_words(table, stage.indices, recipe.output.shard_words, files.release))
        for stage in recipe.curriculum.order(table, ctx)
    ]
    files.release()
    return Assembly(stages, [], ctx.stats, by_source, report, files)


def split_by_words(
    table: pa.Table, order: np.ndarray, shard_words: int, release: Callable[[], None] = _no_op
) -> list[ShardRows]:
    """Shards of ``table`` rows in ``order``, a new one starting once ``shard_words`` is reached.

    The running word total is taken piece by piece, gathered straight from the staged chunks
    (``release`` is called after each piece), so besides ``order`` only a piece is held.
    """
    if len(order) == 0:
        return []
    words = table["words"]
    cuts: list[int] = []
    total, previous = 0, None
    for start in range(0, len(order), _PIECE_ROWS):
        shard_of_row = gather_values(words, order[start : start + _PIECE_ROWS])
        release()
        np.cumsum(shard_of_row, out=shard_of_row)
        np.add(shard_of_row, total - 1, out=shard_of_row)
        total = int(shard_of_row[-1]) + 1
        np.maximum(shard_of_row, 0, out=shard_of_row)
        np.floor_divide(shard_of_row, shard_words, out=shard_of_row)
        if previous is not None and shard_of_row[0] != previous:
            cuts.append(start)
        cuts.extend((np.flatnonzero(shard_of_row[1:] != shard_of_row[:-1]) + 1 + start).tolist())
        previous = shard_of_row[-1]
    bounds = [0, *cuts, len(order)]
    return [ShardRows.of(table, order[a:b]) for a, b in itertools.pairwise(bounds) if b > a]


def stage2_problems(recipe: Recipe) -> list[ErrorItem]:
    """Cross-checks of the budget and the curriculum against the recipe's sources (no data read)."""
    return [*budget_problems(recipe), *curriculum_problems(recipe)]


def budget_problems(recipe: Recipe) -> list[ErrorItem]:
    """Problems of a recipe's budget that need the whole recipe (no data is read).

    Quota keys must name sources or groups and cover every source; a source whose words are
    known without reading data (an inline ``documents`` list with no generator feeding it) must
    hold enough words for its quota when ``on_short`` is ``error``.
    """
    budget = recipe.budget
    if not isinstance(budget, WordBudget) or not budget.quotas:
        return []
    names = [s.label for s in recipe.sources]
    items = []
    for group, members in budget.groups.items():
        items += [
            ErrorItem(f"budget.groups.{group}", f"unknown source {m!r}{_near(m, names)}")
            for m in members
            if m not in names
        ]
    for key in budget.quotas:
        if key not in budget.groups and key not in names:
            items.append(ErrorItem(f"budget.quotas.{key}", f"unknown source{_near(key, names)}"))
    covered = budget.key_of_source()
    for name in names:
        if name not in covered:
            items.append(
                ErrorItem("budget.quotas", f"source {name!r} has no quota (0 leaves it out)")
            )
    if not items and budget.policy == "error":
        items += _known_shortfalls(recipe, budget)
    return items


def _known_shortfalls(recipe: Recipe, budget: WordBudget) -> list[ErrorItem]:
    from corpuskit.sources.documents import DocumentsSource

    key_of = budget.key_of_source()
    known: dict[str, int] = {}
    unknowable: set[str] = set()
    for source in recipe.sources:
        key = key_of[source.label]
        fed = any(
            g.only_sources is None or source.label in g.only_sources for g in recipe.generators
        )
        if isinstance(source, DocumentsSource) and not fed:
            texts = [d if isinstance(d, str) else str(d.get("text", "")) for d in source.documents]
            known[key] = known.get(key, 0) + sum(count_words(t) for t in texts)
        else:
            unknowable.add(key)
    keys, requested = budget.keys(), apportion(budget.budget_words, budget.shares())
    items = []
    for k, key in enumerate(keys):
        if key not in known or key in unknowable:
            continue
        capacity = [0] * len(keys)
        capacity[k] = known[key] * budget.max_epochs.get(key, 1)
        if capacity[k] < requested[k]:
            message = budget._short_message([key], capacity, requested)
            items.append(ErrorItem(f"budget.quotas.{key}", message))
    return items


def _near(word: str, names: list[str]) -> str:
    close = difflib.get_close_matches(word, names, n=1)
    return f" (did you mean {close[0]}?)" if close else f" (sources: {', '.join(names)})"
