"""Executors run stage-1 tasks of a build; every executor must give the same bytes out."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from corpuskit.pipeline import BuildPlan, TaskResult


class Executor(Protocol):
    name: str

    def run(self, plan: BuildPlan, on_done: Callable[[TaskResult], None]) -> list[TaskResult]:
        """Run every task of the plan; return results ordered by task index."""
        ...

    def stage2_scope(self) -> AbstractContextManager[None]:
        """Context the driver runs stage 2 in (where an executor hooks distributed work)."""
        ...


def get_executor(name: str, workers: int | None = None, **options: object) -> Executor:
    """The executor called ``name`` (``local`` or ``ray``)."""
    from corpuskit.errors import CorpuskitError

    if name == "local":
        from corpuskit.executors.local import LocalExecutor

        return LocalExecutor(workers)
    if name == "ray":
        try:
            from corpuskit.executors.ray import RayExecutor
        except ImportError as exc:  # the module imports ray lazily; this guards the module itself
            raise CorpuskitError(f"ray executor unavailable: {exc}") from None
        return RayExecutor(workers, **options)
    raise CorpuskitError(f"unknown executor {name!r}", hint="use 'local' or 'ray'")
