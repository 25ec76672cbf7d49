"""Reading a source the way a build does (every partition, in order) without building."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa

from corpuskit.sources.base import Source
from corpuskit.step import CheckContext, RunContext

DATA = Path(__file__).resolve().parents[1] / "data" / "sources"


class Read:
    """Documents and rejects of one source, as lists of row dicts."""

    def __init__(self, source: Source, data_root: Path | None = None):
        self.ctx = RunContext(seed=0, data_root=data_root)
        blocks: list[pa.Table] = []
        for key in source.partitions(CheckContext(data_root)):
            blocks.extend(source.read_partition(key, self.ctx))
        self.docs: list[dict[str, Any]] = [r for b in blocks for r in b.to_pylist()]
        self.rejects: list[dict[str, Any]] = [r for t in self.ctx.rejects for r in t.to_pylist()]

    @property
    def texts(self) -> list[str]:
        return [d["text"] for d in self.docs]

    @property
    def ids(self) -> list[str]:
        return [d["id"] for d in self.docs]

    @property
    def reasons(self) -> Counter[str]:
        return Counter(r["reason"] for r in self.rejects)
