"""Generator: the family that makes new documents from seed documents.

Every generator has a word quota per build (``max_words``, counted with ``count_words``): each
source partition generates up to its allowance, and the build keeps exactly the quota's worth, never
more (see :mod:`corpuskit.generators.quota`). Generated documents keep their seed's ``source`` (so
they count against that source's budget) and carry ``synthetic: true`` plus provenance in ``meta``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from corpuskit.document import Document, block_to_docs, docs_to_block
from corpuskit.filters.base import BlockStep
from corpuskit.generators.quota import QUOTA_REASON, WordQuota, partition_quota
from corpuskit.step import RunContext
from corpuskit.words import count_words

__all__ = ["Generator", "WordQuota", "synthetic_meta"]

INHERITED_META = ("license", "non_commercial")


def synthetic_meta(seed: Document, provenance: Mapping[str, Any]) -> dict[str, Any]:
    """Meta of a generated doc: the seed's license flags, ``synthetic``, seed id, provenance."""
    meta: dict[str, Any] = {k: seed.meta[k] for k in INHERITED_META if k in seed.meta}
    meta.update({"synthetic": True, "seed_id": seed.id, "generator": dict(provenance)})
    return meta


class Generator(BlockStep):
    """Base of generators: ``generate(doc)`` yields new documents derived from a seed document.

    Subclasses that talk to models override ``process`` to work on the whole block at once (async
    requests); simple ones implement ``generate`` and get the quota and bookkeeping from here.
    Counters: ``generated_docs``, ``generated_words`` (made in stage 1), ``quota_reached`` (how
    many partitions stopped at their allowance). Drop reason: ``generator_quota`` (trimmed to
    ``max_words`` in stage 2).
    """

    family: ClassVar[str] = "generators"
    drop_reasons: ClassVar[tuple[str, ...]] = (QUOTA_REASON,)

    keep_seeds: bool = Field(default=True, description="also pass the seed documents through")
    max_words: int | None = Field(
        default=None,
        ge=0,
        description=(
            "word quota for this generator's documents in the whole build (count_words): the "
            "output never holds more, and less only by part of one document when the "
            "partitions' allowances produce enough (see partition_headroom)"
        ),
    )
    partition_headroom: float | None = Field(
        default=1.5,
        ge=1,
        description=(
            "each of the P source partitions may generate up to min(max_words, "
            "partition_headroom * max_words / P) words before the build trims to max_words; "
            "higher: fewer shortfalls when seeds are spread unevenly, more requests trimmed "
            "(they stay cached); null: max_words per partition"
        ),
    )

    def generate(self, doc: Document) -> Iterable[Document]:
        raise NotImplementedError(f"{type(self).__name__} must implement generate()")

    def process(self, block: pa.Table, ctx: RunContext, label: str) -> pa.Table:
        mask = self.applies_mask(block)
        seeds = block if mask is None else block.filter(mask)
        quota = partition_quota(self, ctx, label)
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
        made = [with_step(doc, label) for doc in made]
        ctx.count(label, "generated_docs", len(made))
        ctx.count(label, "generated_words", sum(count_words(doc.text) for doc in made))
        if quota.full and not quota.reported:
            quota.reported = True
            ctx.count(label, "quota_reached")
        parts = (
            [block]
            if self.keep_seeds
            else ([] if mask is None else [block.filter(pc.invert(mask))])
        )
        return pa.concat_tables([*parts, docs_to_block(made)])


def with_step(doc: Document, label: str) -> Document:
    """``doc`` marked ``synthetic``, with ``meta.generator.step``: how stage 2 finds it."""
    generator = doc.meta.get("generator")
    if (
        doc.meta.get("synthetic") is True
        and isinstance(generator, Mapping)
        and generator.get("step") == label
    ):
        return doc
    provenance = dict(generator) if isinstance(generator, Mapping) else {}
    meta = {**doc.meta, "synthetic": True, "generator": {**provenance, "step": label}}
    return replace(doc, meta=meta)
