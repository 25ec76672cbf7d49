"""The Ray executor: stage-1 tasks as Ray tasks, on one machine (local mode) or a cluster.

Only stage 1 (source partition → filters/mappers → generators → staged Arrow file) runs on Ray.
Every task calls the same :func:`corpuskit.pipeline.run_task` as the local executor, so the staged
bytes are identical; stage 2 (dedup → budget → curriculum) and the shard writer stay in the
driver, so the shards are byte-identical to a local build. The staging directory must therefore
be on a filesystem that every Ray node and the driver share (always true in local mode).

Fault tolerance comes from Ray: each task is submitted with ``max_retries``, so a worker process
that dies mid-task (killed, out of memory, ``os._exit``) is rerun on another worker. ``run_task``
writes its data files under temporary names and its JSON marker last, so a half-written task
leaves nothing that the retry or a resumed build could mistake for finished output.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
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
}


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

    def run(self, plan: BuildPlan, on_done: Callable[[TaskResult], None]) -> list[TaskResult]:
        """Run every task of ``plan`` on Ray; ``on_done`` is called as each one finishes."""
        if not plan.tasks:
            return []
        ray = self._connect()
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
