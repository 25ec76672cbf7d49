"""Generator: the family that makes new documents from seed documents."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import pyarrow as pa
from pydantic import Field

from corpuskit.document import Document, block_to_docs, docs_to_block
from corpuskit.filters.base import BlockStep
from corpuskit.step import RunContext


class Generator(BlockStep):
    """Base of generators: ``generate(doc)`` yields new documents derived from a seed document.

    Generated documents keep their seed's ``source`` so they count against that source's budget,
    and record provenance in ``meta`` (generator kind, seed id, model and prompt where relevant).
    """

    family: ClassVar[str] = "generators"

    keep_seeds: bool = Field(default=True, description="also pass the seed documents through")

    def generate(self, doc: Document) -> Iterable[Document]:
        raise NotImplementedError(f"{type(self).__name__} must implement generate()")

    def process(self, block: pa.Table, ctx: RunContext, label: str) -> pa.Table:
        mask = self.applies_mask(block)
        seeds = block if mask is None else block.filter(mask)
        made = [new for doc in block_to_docs(seeds) for new in self.generate(doc)]
        ctx.count(label, "generated_docs", len(made))
        parts = [block] if self.keep_seeds else ([] if mask is None else [block.filter(_not(mask))])
        return pa.concat_tables([*parts, docs_to_block(made)])


def _not(mask: pa.Array) -> pa.Array:
    import pyarrow.compute as pc

    return pc.invert(mask)
