"""Stage 1 on Ray Data: partitions as a dataset, steps as ``map_batches`` over Arrow batches.

The dataset has one row per task (a source partition). A ``map_batches`` call reads each
partition into its source blocks (file-level partitioning, streamed: a block flows on as soon as
it is read); the filters and mappers run in a second ``map_batches`` (Ray fuses it with the read
into one task, so blocks stay in the worker's memory); generators run in a third one on an actor
pool, so that their concurrency (requests in flight to a model server) is bounded on its own and
each actor keeps its generator state warm. The generator cache is the build's SQLite cache in
``plan.cache_dir``, the same file the local executor uses, so a rebuild makes no requests.

Byte-identity with the local executor rests on running every step on exactly the block the
local executor would give it, with a :class:`RunContext` of the same scope (steps keep no state
across blocks; ``ctx.rng`` depends only on seed, label and scope). Ray Data re-chunks freely, so
every row carries its task and block number (``_task``, ``_seq``) and each stage regroups its
batch by them. What a step records besides documents (counters, rejects, fingerprints of files
read) travels as one *trailer* row per block and stage, with the document columns null and the
pickled record in ``_side``. The driver collects the rows of each task and writes its staged
files with the same writer as the local executor (:func:`corpuskit.pipeline.stage_task`), so the
staging directory need not be shared with the workers.
"""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpuskit.document import BLOCK_SCHEMA
from corpuskit.errors import CorpuskitError
from corpuskit.pipeline import (
    BuildPlan,
    Task,
    TaskResult,
    account,
    block_step_labels,
    finished_result,
    run_steps,
    stage_task,
    task_context,
)
from corpuskit.step import RunContext

TASK, SEQ, SIDE = "_task", "_seq", "_side"
RAY_TASK_RETRIES = 3  # Ray's default: a task whose worker dies is rerun up to 3 times
ERROR_SEQ = 1 << 31  # block number of a read error's record (no block has it)
READ_PART = 0  # stage numbers order a block's side records as the local executor makes them
ROW_SCHEMA = pa.schema(
    [
        *(f.with_nullable(True) for f in BLOCK_SCHEMA),
        pa.field(TASK, pa.int64()),
        pa.field(SEQ, pa.int64()),
        pa.field(SIDE, pa.binary()),
    ]
)


def tagged(docs: pa.Table, task: int, seq: int) -> pa.Table:
    """Documents of block ``seq`` of ``task`` as dataset rows."""
    n = docs.num_rows
    columns = [docs[f.name].cast(f.type) for f in BLOCK_SCHEMA]
    extra = [pa.array([task] * n, pa.int64()), pa.array([seq] * n, pa.int64()), pa.nulls(n)]
    return pa.Table.from_arrays([*columns, *extra], schema=ROW_SCHEMA)


def trailer(task: int, seq: int, record: dict[str, Any]) -> pa.Table:
    """One row carrying a stage's side record for block ``seq`` (document columns null)."""
    columns = [pa.nulls(1, f.type) for f in BLOCK_SCHEMA]
    extra = [pa.array([task]), pa.array([seq]), pa.array([pickle.dumps(record)], pa.binary())]
    return pa.Table.from_arrays([*columns, *extra], schema=ROW_SCHEMA)


def side_record(part: int, ctx: RunContext, **more: Any) -> dict[str, Any]:
    """What a stage recorded on ``ctx`` for one block; ``more`` marks blocks and row counts."""
    return {"part": part, "stats": dict(ctx.stats), "rejects": list(ctx.rejects), **more}


def error_record(part: int, error: CorpuskitError) -> dict[str, Any]:
    """A user error as a side record: Ray Data would wrap it and keep only its text."""
    return {"part": part, "error": (type(error), error.args, dict(error.__dict__))}


def raise_recorded(side: dict[str, Any]) -> None:
    """Re-raise, in the driver, the user error a stage recorded (same class and fields)."""
    cls, args, fields = side["error"]
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(fields)
    raise error


@dataclass
class Group:
    """The rows of one block of one task found in a batch: its documents and its side records."""

    task: int
    seq: int
    docs: pa.Table
    sides: list[dict[str, Any]]

    def block_rows(self) -> int | None:
        """Rows the last stage gave this block, or None for a group that is not a block."""
        marks = [s for s in self.sides if s.get("block")]
        return max(marks, key=lambda s: s["part"])["rows"] if marks else None


def groups(batch: pa.Table) -> Iterator[Group]:
    """Split a batch into its (task, block) groups, in order of first appearance.

    A block's rows arrive as contiguous runs (a stage emits each block's rows together), so the
    batch is cut where the key changes: zero-copy slices, linear in the batch whatever the number
    of blocks. Runs of one block found apart (Ray Data concatenated outputs) are joined in order.
    """
    if batch.num_rows == 0:
        return
    keys = batch[TASK].to_numpy() * (1 << 32) + batch[SEQ].to_numpy()
    starts = [0, *(np.flatnonzero(np.diff(keys)) + 1).tolist()]
    runs: dict[int, list[pa.Table]] = {}
    for start, stop in zip(starts, [*starts[1:], len(keys)], strict=True):
        runs.setdefault(int(keys[start]), []).append(batch.slice(start, stop - start))
    for key, parts in runs.items():
        rows = parts[0] if len(parts) == 1 else pa.concat_tables(parts)
        docs_mask = pc.is_null(rows[SIDE])
        docs = rows.filter(docs_mask).select(BLOCK_SCHEMA.names).cast(BLOCK_SCHEMA)
        sides = [pickle.loads(b) for b in rows.filter(pc.invert(docs_mask))[SIDE].to_pylist()]
        yield Group(key >> 32, key & 0xFFFFFFFF, docs, sides)


class ReadPartitions:
    """``map_batches`` body: task rows in, the blocks of each task's source partition out."""

    def __init__(self, plan: BuildPlan):
        self.plan = plan

    def __call__(self, batch: pa.Table) -> Iterator[pa.Table]:
        for index in batch[TASK].to_pylist():
            try:
                yield from self.read(index)
            except CorpuskitError as error:  # reaches the driver as itself (see Collector)
                yield trailer(index, ERROR_SEQ, error_record(READ_PART, error))

    def read(self, index: int) -> Iterator[pa.Table]:
        """Blocks of one partition, each followed by its side record; then the final record."""
        task = self.plan.tasks[index]
        source = self.plan.recipe.sources[task.source_index]
        ctx = task_context(self.plan, task)
        seq = 0
        for block in source.read_partition(task.key, ctx):
            account(ctx.stats, source.name, "out", block)
            record = side_record(READ_PART, ctx, block=True, rows=block.num_rows)
            ctx.stats, ctx.rejects = Counter(), []
            yield pa.concat_tables([tagged(block, index, seq), trailer(index, seq, record)])
            seq += 1
        # last: the partition's block count, files read, and anything counted after reading
        final = side_record(READ_PART, ctx, blocks=seq, inputs=ctx.inputs)
        yield trailer(index, seq, final)


class StepsStage:
    """``map_batches`` body: block steps ``start:stop`` (as labelled for the whole recipe).

    Passed as an instance it runs in Ray tasks; passed as the class (with these constructor
    arguments) Ray Data runs it on an actor pool.
    """

    def __init__(self, plan: BuildPlan, start: int, stop: int, part: int):
        self.plan, self.part = plan, part
        self.steps = block_step_labels(plan.recipe)[start:stop]

    def __call__(self, batch: pa.Table) -> pa.Table:
        out = []
        for group in groups(batch):
            rows = group.block_rows()
            passed = [trailer(group.task, group.seq, s) for s in group.sides]
            if rows is None:  # a partition's final record: nothing to run
                out += passed
                continue
            if rows != group.docs.num_rows:  # Ray Data split a block: steps would see less
                raise RuntimeError(
                    f"block {group.seq} of task {group.task} arrived split "
                    f"({group.docs.num_rows} of {rows} rows)"
                )
            ctx = task_context(self.plan, self.plan.tasks[group.task])
            try:
                kept = run_steps(self.steps, group.docs, ctx)
            except CorpuskitError as error:  # reaches the driver as itself (see Collector)
                out.append(trailer(group.task, group.seq, error_record(self.part, error)))
                continue
            record = side_record(self.part, ctx, block=True, rows=kept.num_rows)
            out += [tagged(kept, group.task, group.seq), *passed]
            out.append(trailer(group.task, group.seq, record))
        return pa.concat_tables(out) if out else ROW_SCHEMA.empty_table()


@dataclass
class PendingTask:
    """Rows of one task received so far by the driver; side records keyed by (block, stage)."""

    docs: dict[int, list[pa.Table]] = field(default_factory=dict)
    sides: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    blocks: int | None = None
    finished_blocks: int = 0


class Collector:
    """Driver side: gathers each task's rows and stages the task once all of its blocks are in."""

    def __init__(
        self, plan: BuildPlan, last_part: int, on_done: Callable[[TaskResult], None]
    ) -> None:
        self.plan, self.last_part, self.on_done = plan, last_part, on_done
        self.pending: dict[int, PendingTask] = {}
        self.results: dict[int, TaskResult] = {}

    def add(self, batch: pa.Table) -> None:
        for group in groups(batch):
            pending = self.pending.setdefault(group.task, PendingTask())
            if group.docs.num_rows:
                pending.docs.setdefault(group.seq, []).append(group.docs)
            for side in group.sides:
                if "error" in side:
                    raise_recorded(side)
                if pending.sides.setdefault((group.seq, side["part"]), side) is not side:
                    continue  # seen already: counted once, and _stage checks the row counts
                if "blocks" in side:
                    pending.blocks = side["blocks"]
                if side.get("block") and side["part"] == self.last_part:
                    pending.finished_blocks += 1
            if pending.blocks is not None and pending.finished_blocks == pending.blocks:
                self._stage(self.plan.tasks[group.task], self.pending.pop(group.task))

    def finish(self, tasks: list[Task]) -> None:
        missing = [t.index for t in tasks if t.index not in self.results]
        if missing:
            raise RuntimeError(f"ray data returned incomplete output for tasks {missing}")

    def _stage(self, task: Task, pending: PendingTask) -> None:
        for seq in range(pending.blocks or 0):  # never stage a block twice or half of one
            got = sum(t.num_rows for t in pending.docs.get(seq, []))
            expected = pending.sides[(seq, self.last_part)]["rows"]
            if got != expected:
                raise RuntimeError(
                    f"task {task.index} block {seq}: {got} rows arrived, {expected} were made"
                )
        blocks = [b for seq in sorted(pending.docs) for b in pending.docs[seq]]
        stats: Counter[str] = Counter()
        inputs: dict[str, str] = {}
        rejects: list[pa.Table] = []
        for key in sorted(pending.sides):  # (block, stage): the local executor's order
            side = pending.sides[key]
            stats.update(side["stats"])
            inputs.update(side.get("inputs", {}))
            rejects += side["rejects"]
        result = stage_task(self.plan, task, blocks, lambda: (rejects, stats, inputs))
        self.results[task.index] = result
        self.on_done(result)


@dataclass(frozen=True)
class DataSettings:
    """Resources of the Ray Data stages (see :class:`corpuskit.executors.ray.RayExecutor`)."""

    workers: int | None
    max_retries: int
    cpus_per_task: float
    generator_actors: int
    cpus_per_generator_actor: float


def run_with_ray_data(
    ray: Any, plan: BuildPlan, settings: DataSettings, on_done: Callable[[TaskResult], None]
) -> list[TaskResult]:
    """Run the plan's unfinished tasks as a Ray dataset; results in task order."""
    collector = Collector(plan, 0, on_done)
    todo = []
    for task in plan.tasks:
        done = finished_result(plan, task)
        if done is None:
            todo.append(task)
        else:
            collector.results[task.index] = done
            on_done(done)
    if todo:
        dataset, collector.last_part = _dataset(ray, plan, todo, settings)
        for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            collector.add(batch)
        collector.finish(todo)
    return [collector.results[task.index] for task in plan.tasks]


def _dataset(
    ray: Any, plan: BuildPlan, todo: list[Task], settings: DataSettings
) -> tuple[Any, int]:
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # corpuskit shows its own progress (per partition)
    task_args: dict[str, Any] = {"num_cpus": settings.cpus_per_task}
    if settings.max_retries != RAY_TASK_RETRIES:  # Ray deprecates passing it; default is 3
        task_args["max_retries"] = settings.max_retries
    if settings.workers:
        task_args["compute"] = ray.data.TaskPoolStrategy(size=settings.workers)
    items = [{TASK: task.index} for task in todo]
    dataset = ray.data.from_items(items, override_num_blocks=len(todo))
    dataset = dataset.map_batches(
        ReadPartitions(plan), batch_size=1, batch_format="pyarrow", **task_args
    )
    filters, generators = len(plan.recipe.filters), len(plan.recipe.generators)
    part = READ_PART
    if filters:
        part += 1
        stage = StepsStage(plan, 0, filters, part)
        dataset = dataset.map_batches(stage, batch_size=None, batch_format="pyarrow", **task_args)
    if generators:
        part += 1
        dataset = dataset.map_batches(
            StepsStage,
            fn_constructor_args=(plan, filters, filters + generators, part),
            batch_size=None,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=settings.generator_actors),
            num_cpus=settings.cpus_per_generator_actor,
        )
    return dataset, part
