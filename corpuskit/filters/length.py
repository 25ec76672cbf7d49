"""Length filters."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from corpuskit.document import Document
from corpuskit.filters.base import Filter, Verdict
from corpuskit.step import Drop


class WordCountFilter(Filter, kind="word_count"):
    """Keep documents whose word count (``count_words``) lies in [min_words, max_words].

    Drop reasons: ``too_short``, ``too_long``.
    """

    drop_reasons = ("too_short", "too_long")

    min_words: int = Field(default=1, ge=0, description="drop documents with fewer words")
    max_words: int | None = Field(default=None, ge=0, description="drop documents with more words")

    @model_validator(mode="after")
    def _ordered(self) -> WordCountFilter:
        if self.max_words is not None and self.max_words < self.min_words:
            raise ValueError(f"max_words ({self.max_words}) is below min_words ({self.min_words})")
        return self

    def keep(self, doc: Document) -> Verdict:
        if doc.words < self.min_words:
            return Drop("too_short")
        if self.max_words is not None and doc.words > self.max_words:
            return Drop("too_long")
        return True

    def drop_reasons_block(self, block: pa.Table) -> pa.Array:
        words = block["words"]
        too_long = (
            pc.greater(words, self.max_words)
            if self.max_words is not None
            else pa.repeat(False, block.num_rows)
        )
        reasons = pc.if_else(too_long, pa.scalar("too_long"), pa.scalar(None, pa.string()))
        return pc.if_else(pc.less(words, self.min_words), pa.scalar("too_short"), reasons)
