"""The Ray executor: stage 1 on Ray, on one machine (local mode) or a cluster.

Stage 1 (source partition → filters/mappers → generators → staged Arrow file) runs on Ray with one
of two engines:

* ``engine="data"`` (the default): Ray Data, see :mod:`corpuskit.executors.ray_data`. Partitions
  become a dataset, steps run as ``map_batches`` over Arrow batches, generators on an actor pool,
  and the driver stages each partition's output, so no filesystem needs to be shared.
* ``engine="tasks"``: one ``ray.remote`` task per partition calling the local executor's
  :func:`corpuskit.pipeline.run_task`. Kept because it moves no documents through the object
  store or the driver (each worker writes its staged file itself): the better fit for partitions
  whose output is large relative to the driver, on a cluster with a shared filesystem for the
  staging directory.

Both give the local executor's staged tables, and stage 2 (dedup → budget → curriculum) and the
shard writer run in the driver, so the shards are byte-identical to a local build.

Fault tolerance comes from Ray: tasks run with ``max_retries`` (actors with as many restarts), so a
worker process that dies mid-task (killed, out of memory, ``os._exit``) is rerun. Staged files are
written under temporary names with the JSON marker last, so a half-written task leaves nothing
that a retry or a resumed build could mistake for finished output.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from corpuskit.errors import CorpuskitError, MissingDependencyError
from corpuskit.pipeline import BuildPlan, Task, TaskResult, run_task


def _run_one(plan: BuildPlan, task: Task) -> TaskResult:
    """The body of one Ray task; a module-level function so Ray pickles it by reference."""
    return run_task(plan, task)


_DEFAULTS: dict[str, Any] = {
    "address": None,
    "num_cpus": None,
    "object_store_memory": None,
    "max_retries": 3,
    "cpus_per_task": 1.0,
    "engine": "data",
    "generator_actors": 2,
    "cpus_per_generator_actor": 0.5,
    "distribute_stage2": True,
}
ENGINES = ("data", "tasks")


class RayExecutor:
    """Stage-1 tasks as Ray tasks, results returned in task order whatever finishes first.

    Args:
        workers: Most tasks in flight at once (default: the CPUs Ray reports).
        address: Cluster to join (``"auto"``, ``"ray://host:10001"``); ``None`` starts a local
            Ray instance, or joins the one named by ``RAY_ADDRESS`` when that is set.
        num_cpus: CPUs a local Ray instance may use (ignored when joining a cluster).
        object_store_memory: Bytes for a local instance's object store (only the plan and the
            small task results travel through it; the data goes through the staging directory).
        max_retries: How many times Ray reruns a task whose worker process died.
        cpus_per_task: Ray CPUs each task reserves (raise it for steps that use threads).
        engine: ``"data"`` (Ray Data, the default) or ``"tasks"`` (one Ray task per partition).
        generator_actors: Size of the generator actor pool (``engine="data"``).
        cpus_per_generator_actor: Ray CPUs each generator actor reserves; below 1 because model
            calls mostly wait on the server, and actors that held every CPU would starve the
            read and filter tasks.
        distribute_stage2: Compute MinHash signatures of stage 2 on Ray Data (the dedup
            decisions, budget and curriculum stay in the driver).
    """

    name = "ray"

    def __init__(self, workers: int | None = None, **options: Any):
        try:
            import ray  # noqa: F401  (checked here so a missing extra fails before any work)
        except ImportError:
            raise MissingDependencyError("the ray executor", "ray") from None
        unknown = sorted(set(options) - set(_DEFAULTS))
        if unknown:
            raise CorpuskitError(
                f"unknown ray executor option(s): {', '.join(unknown)}",
                hint=f"known options: {', '.join(_DEFAULTS)}",
            )
        settings = {**_DEFAULTS, **options}
        self.workers = workers
        self.address: str | None = settings["address"]
        self.num_cpus: int | None = settings["num_cpus"]
        self.object_store_memory: int | None = settings["object_store_memory"]
        self.max_retries = int(settings["max_retries"])
        self.cpus_per_task = float(settings["cpus_per_task"])
        self.engine = str(settings["engine"])
        if self.engine not in ENGINES:
            raise CorpuskitError(
                f"unknown ray engine {self.engine!r}", hint=f"use one of: {', '.join(ENGINES)}"
            )
        self.generator_actors = int(settings["generator_actors"])
        self.cpus_per_generator_actor = float(settings["cpus_per_generator_actor"])
        self.distribute_stage2 = bool(settings["distribute_stage2"])

    def _connect(self) -> Any:
        import ray

        if not ray.is_initialized():
            options: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": True,
            }
            address = self.address or os.environ.get("RAY_ADDRESS")
            if address:
                options["address"] = address
            else:
                options["num_cpus"] = self.num_cpus
                options["object_store_memory"] = self.object_store_memory
            ray.init(**options)
        return ray

    def stage2_scope(self) -> AbstractContextManager[None]:
        """Stage 2 runs here: MinHash signatures on Ray Data unless ``distribute_stage2`` is off."""
        if not self.distribute_stage2:
            return nullcontext()
        from corpuskit.executors.ray_stage2 import distributed_stage2

        return distributed_stage2(self._connect, self.cpus_per_task)

    def engine_for(self, plan: BuildPlan) -> str:
        """The engine that runs ``plan``: ``tasks`` whenever a generator has per-build limits.

        A generator's stage-1 word allowance (``max_words``) spans all blocks of a partition, and
        its rate limits are shared out by the number of workers. Ray Data hands a partition's
        blocks to different tasks and actors, each with its own context, so the allowance would
        restart per block (more candidates, hence other bytes than the local build after the
        stage-2 trim) and the limits would not be divided; one Ray task per partition keeps both.
        """
        if self.engine == "data" and any(
            getattr(g, "max_words", None) is not None
            or getattr(g, "rpm", None)
            or getattr(g, "tpm", None)
            for g in plan.recipe.generators
        ):
            return "tasks"
        return self.engine

    def run(self, plan: BuildPlan, on_done: Callable[[TaskResult], None]) -> list[TaskResult]:
        """Run every task of ``plan`` on Ray; ``on_done`` is called as each one finishes."""
        if not plan.tasks:
            return []
        ray = self._connect()
        if self.engine_for(plan) == "data":
            from corpuskit.executors.ray_data import DataSettings, run_with_ray_data

            settings = DataSettings(
                self.workers,
                self.max_retries,
                self.cpus_per_task,
                self.generator_actors,
                self.cpus_per_generator_actor,
            )
            return run_with_ray_data(ray, plan, settings, on_done)
        remote = ray.remote(
            num_cpus=self.cpus_per_task, max_retries=self.max_retries, retry_exceptions=False
        )(_run_one)
        limit = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        plan = dataclasses.replace(plan, workers=max(1, min(limit, len(plan.tasks))))
        plan_ref = ray.put(plan)  # pickled once (cloudpickle: run-time steps travel by value)
        pending: dict[Any, int] = {}
        results: dict[int, TaskResult] = {}
        queue = list(plan.tasks)
        while queue or pending:
            while queue and len(pending) < limit:
                task = queue.pop(0)
                pending[remote.remote(plan_ref, task)] = task.index
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                pending.pop(ref)
                result = ray.get(ref)
                results[result.index] = result
                on_done(result)
        return [results[task.index] for task in plan.tasks]
