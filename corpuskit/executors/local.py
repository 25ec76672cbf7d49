"""The default executor: stage-1 tasks in worker processes on this machine."""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from corpuskit.pipeline import BuildPlan, TaskResult, run_task

_PLAN: BuildPlan | None = None


def _run_index(position: int) -> TaskResult:
    assert _PLAN is not None
    return run_task(_PLAN, _PLAN.tasks[position])


class LocalExecutor:
    """Processes (fork) over partitions; results are returned in task order whatever finishes first.

    Fork is used so that steps defined at run time (decorated functions, notebook classes) reach
    the workers without pickling. ``workers=1`` runs in this process.
    """

    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or os.cpu_count() or 1)

    def stage2_scope(self) -> AbstractContextManager[None]:
        """Stage 2 runs in this process as it is."""
        return nullcontext()

    def run(self, plan: BuildPlan, on_done: Callable[[TaskResult], None]) -> list[TaskResult]:
        global _PLAN
        results: list[TaskResult] = []
        processes = min(self.workers, len(plan.tasks))
        plan = dataclasses.replace(plan, workers=max(1, processes))
        if processes <= 1:
            for task in plan.tasks:
                results.append(run_task(plan, task))
                on_done(results[-1])
            return results
        _PLAN = plan
        try:
            with mp.get_context("fork").Pool(processes) as pool:
                for result in pool.imap(_run_index, range(len(plan.tasks))):
                    results.append(result)
                    on_done(result)
        finally:
            _PLAN = None
        return results
