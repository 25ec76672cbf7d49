"""Curricula (family ``curriculum``): the order in which the trainer sees the selected documents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pyarrow as pa

from corpuskit.hashing import hash_order
from corpuskit.step import RunContext, Step


@dataclass(frozen=True)
class Stage:
    """A named, ordered group of rows; stages are written (and trained on) in list order."""

    name: str
    indices: np.ndarray


class Curriculum(Step):
    """Base of curricula: ``order(table, ctx)`` returns the stages."""

    family: ClassVar[str] = "curriculum"

    def order(self, table: pa.Table, ctx: RunContext) -> list[Stage]:
        raise NotImplementedError


class ShuffleCurriculum(Curriculum, kind="shuffle"):
    """One stage in a seeded hash order of document ids (the same order on every machine)."""

    def order(self, table: pa.Table, ctx: RunContext) -> list[Stage]:
        return [Stage("main", hash_order(table["id"], ctx.seed, salt="shuffle"))]


class InputOrderCurriculum(Curriculum, kind="input_order"):
    """One stage in input order: sources as listed in the recipe, files sorted, then position."""

    def order(self, table: pa.Table, ctx: RunContext) -> list[Stage]:
        return [Stage("main", np.arange(table.num_rows, dtype=np.int64))]
