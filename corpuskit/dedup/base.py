"""Dedup: global steps that see the whole filtered corpus and name each duplicate's reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import pyarrow as pa

from corpuskit.step import RunContext, Step


class Dedup(Step):
    """Base of dedup and decontamination steps.

    ``duplicates(table, ctx)`` receives every kept document (columns id, text, source, words, meta)
    in a canonical order that depends only on the inputs, and returns one reason per row (None
    keeps the row). Because the decision sees the whole table, it cannot depend on worker count.
    """

    family: ClassVar[str] = "dedup"
    drop_reasons: ClassVar[tuple[str, ...]] = ()

    def duplicates(
        self, table: pa.Table, ctx: RunContext
    ) -> Sequence[str | None] | pa.Array | pa.ChunkedArray:
        raise NotImplementedError(f"{type(self).__name__} must implement duplicates()")
