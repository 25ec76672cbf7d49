"""Stage 1 of a build: one partition of one source through the block steps, staged to disk.

Each task writes ``part-NNNNN.arrow`` (kept documents), ``part-NNNNN.rejects.arrow`` and, last,
``part-NNNNN.json`` (its counters). The JSON is written only after the data files are renamed
into place, so its presence marks a finished task and a resumed build skips it.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from corpuskit.document import BLOCK_SCHEMA, REJECT_SCHEMA
from corpuskit.filters.base import BlockStep
from corpuskit.memory import release_free_memory
from corpuskit.recipe import Recipe
from corpuskit.step import RunContext
from corpuskit.tally import sums_by


@dataclass(frozen=True)
class Task:
    """One partition of one source; ``index`` orders results canonically."""

    index: int
    source_index: int
    key: str


@dataclass
class TaskResult:
    index: int
    staged: str
    rejects: str
    rows: int
    stats: dict[str, int] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildPlan:
    """Everything a worker needs to run any task of a build."""

    recipe: Recipe
    data_root: Path | None
    work_dir: Path
    tasks: list[Task]
    cache_dir: Path | None = None
    workers: int = 1  # tasks running at once (set by the executor; per-build limits divide by it)
    run_id: str = ""  # names this build run (generators' spending caps are per run)

    def partitions_per_source(self) -> dict[str, int]:
        """How many tasks read each source (steps size per-partition shares of build limits)."""
        return dict(Counter(self.recipe.sources[t.source_index].name for t in self.tasks))


def block_step_labels(recipe: Recipe) -> list[tuple[str, BlockStep]]:
    """Filters then generators, labelled by kind (``kind#2`` for a repeated kind)."""
    return labelled([*recipe.filters, *recipe.generators])


def labelled(steps: list[Any]) -> list[tuple[str, Any]]:
    counts: Counter[str] = Counter()
    out = []
    for step in steps:
        counts[step.kind] += 1
        n = counts[step.kind]
        out.append((step.kind if n == 1 else f"{step.kind}#{n}", step))
    return out


def account(stats: Counter[str], label: str, phase: str, block: pa.Table) -> None:
    stats[f"{label}.docs_{phase}"] += block.num_rows
    stats[f"{label}.words_{phase}"] += int(pc.sum(block["words"]).as_py() or 0)


def account_rejects(stats: Counter[str], rejects: list[pa.Table]) -> None:
    for table in rejects:
        for (step, reason), (docs, words) in sums_by(table, ["step", "reason"], "words").items():
            stats[f"{step}.dropped.{reason}.docs"] += docs
            stats[f"{step}.dropped.{reason}.words"] += words


def task_context(plan: BuildPlan, task: Task) -> RunContext:
    """The RunContext of one task; any executor that splits a task into blocks uses one per block
    (steps keep no state across blocks, and ``rng`` depends only on seed, label and scope)."""
    source = plan.recipe.sources[task.source_index]
    return RunContext(
        seed=plan.recipe.seed,
        scope=f"{source.name}\x00{task.key}",
        data_root=plan.data_root,
        cache_dir=plan.cache_dir,
        partitions=plan.partitions_per_source(),
        workers=plan.workers,
        run_id=plan.run_id,
    )


def run_steps(steps: list[tuple[str, BlockStep]], block: pa.Table, ctx: RunContext) -> pa.Table:
    """One block through ``steps`` in order, counting each step's in/out on ``ctx``."""
    for label, step in steps:
        account(ctx.stats, label, "in", block)
        block = step.process(block, ctx, label)
        account(ctx.stats, label, "out", block)
    return block


def finished_result(plan: BuildPlan, task: Task) -> TaskResult | None:
    """The result of a task finished by an earlier (interrupted) build, if any."""
    marker = plan.work_dir / f"part-{task.index:05d}.json"
    return TaskResult(**json.loads(marker.read_text())) if marker.exists() else None


def run_task(plan: BuildPlan, task: Task) -> TaskResult:
    """Run one task (or return the finished result of an earlier, interrupted build)."""
    done = finished_result(plan, task)
    if done is not None:
        return done
    source = plan.recipe.sources[task.source_index]
    ctx = task_context(plan, task)
    steps = block_step_labels(plan.recipe)

    def blocks() -> Iterator[pa.Table]:
        for block in source.read_partition(task.key, ctx):
            account(ctx.stats, source.name, "out", block)
            yield run_steps(steps, block, ctx)

    return stage_task(
        plan, task, blocks(), lambda: (ctx.rejects, ctx.stats, ctx.inputs), streaming=ctx
    )


def stage_task(
    plan: BuildPlan,
    task: Task,
    blocks: Iterable[pa.Table],
    side: Callable[[], tuple[list[pa.Table], Counter[str], dict[str, str]]],
    streaming: RunContext | None = None,
) -> TaskResult:
    """Write a task's kept ``blocks`` and its rejects (streamed), then, last, its JSON marker.

    ``side`` is called once ``blocks`` is exhausted and gives (rejects, counters, inputs); the
    rejects of a ``streaming`` context go to the rejects file as the steps make them instead.
    """
    stem = plan.work_dir / f"part-{task.index:05d}"
    staged, rejects_path = Path(f"{stem}.arrow"), Path(f"{stem}.rejects.arrow")
    rows = 0
    streamed: Counter[str] = Counter()
    with (
        _AtomicIpcFile(staged, BLOCK_SCHEMA) as writer,
        streamed_rejects(rejects_path, streamed, streaming) as sink,
    ):
        for block in blocks:
            rows += block.num_rows
            writer.write_table(block.cast(BLOCK_SCHEMA))
        rejects, stats, inputs = side()
        for table in rejects:
            sink(table)
    stats.update(streamed)
    result = TaskResult(task.index, str(staged), str(rejects_path), rows, dict(stats), inputs)
    marker = stem.with_suffix(".json")
    tmp_marker = marker.with_suffix(f".json.tmp-{os.getpid()}")
    tmp_marker.write_text(json.dumps(asdict(result), sort_keys=True))
    os.replace(tmp_marker, marker)
    del rejects
    release_free_memory()  # what this task freed, so that the next one starts from the floor
    return result


@contextmanager
def streamed_rejects(
    path: Path,
    stats: Counter[str],
    ctx: RunContext | None = None,
    after_write: Callable[[], None] | None = None,
) -> Iterator[Callable[[pa.Table], None]]:
    """A sink that writes rejected tables to ``path`` (atomically) and counts them in ``stats``.

    With ``ctx``, the rejects its steps make go to the sink as they are made (and no longer once
    the block ends); ``after_write`` runs after each table is written.
    """
    with _AtomicIpcFile(path, REJECT_SCHEMA) as writer:

        def sink(table: pa.Table) -> None:
            writer.write_table(table)
            account_rejects(stats, [table])
            if after_write is not None:
                after_write()

        if ctx is not None:
            ctx.reject_sink = sink
        try:
            yield sink
        finally:
            if ctx is not None:
                ctx.reject_sink = None


class _AtomicIpcFile:
    """An Arrow IPC file writer to ``path`` through a temporary file renamed on success."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path, self.schema = path, schema
        self.tmp = Path(f"{path}.tmp-{os.getpid()}")

    def __enter__(self) -> pa.ipc.RecordBatchFileWriter:
        self.sink = pa.OSFile(str(self.tmp), "wb")
        self.writer = pa.ipc.new_file(self.sink, self.schema)
        return self.writer

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.writer.close()
        self.sink.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)
