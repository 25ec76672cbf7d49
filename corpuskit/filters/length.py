"""Length filters."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from corpuskit.document import Document
from corpuskit.filters.base import Filter, Verdict
from corpuskit.filters.textops import (
    WHITESPACE_CLASS,
    char_lengths,
    count_regex,
    ratio,
    reasons_from_masks,
    text_column,
)
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


def _bounds_ordered(low: float | None, high: float | None, names: tuple[str, str]) -> None:
    if low is not None and high is not None and high < low:
        raise ValueError(f"{names[1]} ({high}) is below {names[0]} ({low})")


class CharCountFilter(Filter, kind="char_count"):
    """Keep documents whose length in characters (code points, ``len(text)``) is in range.

    Drop reasons: ``too_few_chars``, ``too_many_chars``.
    """

    drop_reasons = ("too_few_chars", "too_many_chars")

    min_chars: int = Field(default=1, ge=0, description="drop documents with fewer characters")
    max_chars: int | None = Field(
        default=None, ge=0, description="drop documents with more characters (no limit if unset)"
    )

    @model_validator(mode="after")
    def _ordered(self) -> CharCountFilter:
        _bounds_ordered(self.min_chars, self.max_chars, ("min_chars", "max_chars"))
        return self

    def drop_reasons_block(self, block: pa.Table) -> pa.Array:
        chars = char_lengths(text_column(block))
        too_many = chars > self.max_chars if self.max_chars is not None else chars < 0
        return reasons_from_masks(
            block.num_rows,
            [("too_few_chars", chars < self.min_chars), ("too_many_chars", too_many)],
        )


class MeanWordLengthFilter(Filter, kind="mean_word_length"):
    """Keep documents whose mean word length (characters per word) is in range.

    Documents without words are kept (use ``word_count`` to drop them).
    Drop reasons: ``words_too_short``, ``words_too_long``.
    """

    drop_reasons = ("words_too_short", "words_too_long")

    min_mean: float | None = Field(
        default=None, ge=0, description="drop documents whose mean word length is below this"
    )
    max_mean: float | None = Field(
        default=None, ge=0, description="drop documents whose mean word length is above this"
    )

    @model_validator(mode="after")
    def _ordered(self) -> MeanWordLengthFilter:
        _bounds_ordered(self.min_mean, self.max_mean, ("min_mean", "max_mean"))
        return self

    def drop_reasons_block(self, block: pa.Table) -> pa.Array:
        texts = text_column(block)
        words = np.asarray(block["words"].to_numpy(), dtype=np.int64)
        # characters of the words = all characters minus the whitespace between them
        word_chars = char_lengths(texts) - count_regex(texts, WHITESPACE_CLASS)
        mean = ratio(word_chars, words)
        has_words = words > 0
        low = self.min_mean if self.min_mean is not None else -1.0
        high = self.max_mean if self.max_mean is not None else np.inf
        return reasons_from_masks(
            block.num_rows,
            [
                ("words_too_short", has_words & (mean < low)),
                ("words_too_long", has_words & (mean > high)),
            ],
        )
