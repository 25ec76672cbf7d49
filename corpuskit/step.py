"""Step base class, the per-run context, and ``Drop``.

A step is a frozen pydantic model: its parameters are validated fields. Per-run state lives in
local variables, never on ``self``. Randomness comes from ``ctx.rng(label)``, seeded from the recipe
seed, the step's label and the partition, never from a global RNG, so output does not depend on
how many workers run or in which order they finish.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from corpuskit.document import REJECT_SCHEMA
from corpuskit.registry import registry


@dataclass(frozen=True, slots=True)
class Drop:
    """A filter's verdict to drop a document, with a stable snake_case reason."""

    reason: str
    detail: str = ""

    def __bool__(self) -> bool:
        return False


class Step(BaseModel):
    """Base of every recipe step. Subclasses register with ``class X(Filter, kind="x")``."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    family: ClassVar[str] = ""
    kind: ClassVar[str] = ""

    only_sources: list[str] | None = Field(
        default=None,
        description="apply this step only to documents of these sources (all if unset)",
    )

    def __init_subclass__(cls, kind: str | None = None, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if kind is not None:
            cls.kind = kind
            registry(cls.family).add(kind, cls)

    def check(self, ctx: CheckContext) -> None:
        """Check what needs the environment (paths, optional packages) without reading data.

        Raise ``CorpuskitError`` subclasses. Called by ``corpuskit validate`` and before a build.
        """

    def to_spec(self) -> dict[str, Any]:
        """``{kind: ..., **params}``: the recipe form of this step (defaults filled)."""
        return {"kind": self.kind, **self.model_dump(mode="json")}


@dataclass
class CheckContext:
    """What ``Step.check`` may consult: the data root (may be None) and where the recipe lives."""

    data_root: Path | None
    recipe_dir: Path | None = None

    def resolve(self, pattern: str) -> str:
        """Absolute form of a path pattern: relative patterns live under the data root."""
        from corpuskit.datapaths import resolve_pattern

        return resolve_pattern(pattern, self.data_root)


@dataclass
class RunContext:
    """Per-task state handed to steps: counters, seeded RNGs, rejects, cache dir, logger.

    ``partitions`` (partitions per source name), ``workers`` (workers running at once) and
    ``run_id`` (one build run) describe the whole build, so that steps can share per-build limits
    (generator quotas, rate limits, spending caps) between tasks; ``state`` holds a step's
    per-task state that spans blocks, keyed by its label.
    """

    seed: int
    scope: str = ""
    data_root: Path | None = None
    cache_dir: Path | None = None
    partitions: dict[str, int] = field(default_factory=dict)
    workers: int = 1
    run_id: str = ""
    state: dict[str, Any] = field(default_factory=dict)
    stats: Counter[str] = field(default_factory=Counter)
    inputs: dict[str, str] = field(default_factory=dict)
    rejects: list[pa.Table] = field(default_factory=list)
    # Where rejected rows go as they are made (stage 1 streams them to the task's rejects file,
    # so that a task's memory is one block, not all its rejects); None keeps them in ``rejects``.
    reject_sink: Callable[[pa.Table], None] | None = None
    # Drops the memory-mapped staged pages read so far (stage 2 sets it: ``memory.StagedFiles``).
    page_release: Callable[[], None] | None = None
    reports: dict[str, Any] = field(default_factory=dict)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("corpuskit"))

    def rng(self, label: str) -> random.Random:
        """A Random seeded by (recipe seed, step label, partition scope)."""
        digest = hashlib.sha256(f"{self.seed}\x00{label}\x00{self.scope}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def release_pages(self) -> None:
        """Say that the input pages read so far are done with (a step's columns are in memory)."""
        if self.page_release is not None:
            self.page_release()

    def count(self, label: str, counter: str, n: int = 1) -> None:
        self.stats[f"{label}.{counter}"] += n

    def record_input(self, path: str, sha256: str) -> None:
        """Remember the fingerprint of an input file (it goes into the manifest)."""
        self.inputs[path] = sha256

    def reject(self, block: pa.Table, *, step: str, reasons: pa.Array | list[str]) -> None:
        """Keep dropped rows with their reasons for the rejects shard and the ledger."""
        if block.num_rows == 0:
            return
        reason_arr = pa.array(reasons, pa.string()) if isinstance(reasons, list) else reasons
        table = block.append_column("step", pa.array([step] * block.num_rows, pa.string()))
        rejected = table.append_column("reason", reason_arr).cast(REJECT_SCHEMA)
        if self.reject_sink is not None:
            self.reject_sink(rejected)
        else:
            self.rejects.append(rejected)
