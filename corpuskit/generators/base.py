"""Generator: the family that makes new documents from seed documents.

Every generator has a word quota (``max_words``): generation stops once the next document would not
fit, so the generated words never exceed it (counted with ``count_words``). Generated documents keep
their seed's ``source`` (so they count against that source's budget) and carry ``synthetic: true``
plus provenance in ``meta``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from corpuskit.document import Document, block_to_docs, docs_to_block
from corpuskit.filters.base import BlockStep
from corpuskit.step import RunContext
from corpuskit.words import count_words

INHERITED_META = ("license", "non_commercial")


class WordQuota:
    """Words admitted so far against an optional limit; ``admit`` refuses what would overshoot."""

    def __init__(self, limit: int | None):
        self.limit = limit
        self.used = 0
        self.full = False

    def admit(self, text: str) -> bool:
        words = count_words(text)
        if self.full or (self.limit is not None and self.used + words > self.limit):
            self.full = True
            return False
        self.used += words
        return True


def synthetic_meta(seed: Document, provenance: Mapping[str, Any]) -> dict[str, Any]:
    """Meta of a generated doc: the seed's license flags, ``synthetic``, seed id, provenance."""
    meta: dict[str, Any] = {k: seed.meta[k] for k in INHERITED_META if k in seed.meta}
    meta.update({"synthetic": True, "seed_id": seed.id, "generator": dict(provenance)})
    return meta


class Generator(BlockStep):
    """Base of generators: ``generate(doc)`` yields new documents derived from a seed document.

    Subclasses that talk to models override ``process`` to work on the whole block at once (async
    requests); simple ones implement ``generate`` and get the quota and bookkeeping from here.
    Counters: ``generated_docs``, ``generated_words``, ``quota_reached`` (1 when the quota stopped
    generation in this partition).
    """

    family: ClassVar[str] = "generators"

    keep_seeds: bool = Field(default=True, description="also pass the seed documents through")
    max_words: int | None = Field(
        default=None,
        ge=0,
        description=(
            "word quota for the generated documents of each source partition (count_words); "
            "generation stops before the quota would be exceeded"
        ),
    )

    def generate(self, doc: Document) -> Iterable[Document]:
        raise NotImplementedError(f"{type(self).__name__} must implement generate()")

    def process(self, block: pa.Table, ctx: RunContext, label: str) -> pa.Table:
        mask = self.applies_mask(block)
        seeds = block if mask is None else block.filter(mask)
        quota = WordQuota(self.max_words)
        made: list[Document] = []
        for doc in block_to_docs(seeds):
            for new in self.generate(doc):
                if not quota.admit(new.text):
                    break
                made.append(new)
            if quota.full:
                break
        return self.finish(block, mask, made, quota, ctx, label)

    def finish(
        self,
        block: pa.Table,
        mask: pa.Array | None,
        made: list[Document],
        quota: WordQuota,
        ctx: RunContext,
        label: str,
    ) -> pa.Table:
        """Count what was made and assemble the output block (seeds first, then generated)."""
        ctx.count(label, "generated_docs", len(made))
        ctx.count(label, "generated_words", quota.used)
        if quota.full:
            ctx.count(label, "quota_reached")
        parts = (
            [block]
            if self.keep_seeds
            else ([] if mask is None else [block.filter(pc.invert(mask))])
        )
        return pa.concat_tables([*parts, docs_to_block(made)])
