"""Source: the first family. Reads inputs into Arrow blocks of documents, with provenance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
from pydantic import Field, model_validator

from corpuskit.document import Document, docs_to_block
from corpuskit.step import CheckContext, RunContext, Step

BLOCK_ROWS = 10_000


class Source(Step):
    """Base of all sources.

    Subclasses implement ``read(ctx)`` (one document at a time, simplest) or, for speed,
    ``partitions`` + ``read_partition`` yielding Arrow blocks. Partitions are defined by the input
    (files, byte ranges), never by the worker count, so output does not depend on parallelism.
    """

    family: ClassVar[str] = "sources"

    name: str = Field(
        default="", description="name used in document ids, quotas and the ledger (default: kind)"
    )
    license: str = Field(
        default="unknown", description="license of the input, copied to the manifest"
    )
    non_commercial: bool = Field(
        default=False, description="true for research/non-commercial data: flagged in the manifest"
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_license_defaults(cls, data: Any) -> Any:
        # The data a source targets may imply its terms (Switchboard is CC BY-NC-SA); the user's
        # own ``license`` / ``non_commercial`` always win, so only missing keys are filled.
        if isinstance(data, dict):
            default = cls.default_license(data)
            if default is not None:
                data = dict(data)
                data.setdefault("license", default[0])
                data.setdefault("non_commercial", default[1])
        return data

    @classmethod
    def default_license(cls, params: dict[str, Any]) -> tuple[str, bool] | None:
        """(license, non_commercial) implied by the data these params target, or None."""
        return None

    @property
    def label(self) -> str:
        """The source's name in ids, counters and rejects (its kind when unnamed)."""
        return self.name or self.kind

    def input_files(self, ctx: CheckContext) -> list[Path]:
        """Files this source reads (fingerprinted in the manifest). Default: none."""
        return []

    def partitions(self, ctx: CheckContext) -> list[str]:
        """Keys of independent pieces of work. Default: a single partition."""
        return ["all"]

    def read(self, ctx: RunContext) -> Iterator[Document]:
        """Documents of this source (override this, or ``read_partition``)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement read() or read_partition()"
        )

    def read_partition(self, key: str, ctx: RunContext) -> Iterator[pa.Table]:
        """Arrow blocks of one partition. Default: batches of ``read()``."""
        batch: list[Document] = []
        for doc in self.read(ctx):
            batch.append(doc)
            if len(batch) >= BLOCK_ROWS:
                yield docs_to_block(batch)
                batch = []
        if batch:
            yield docs_to_block(batch)

    def base_meta(self) -> dict[str, object]:
        meta: dict[str, object] = {"license": self.license}
        if self.non_commercial:
            meta["non_commercial"] = True
        return meta
