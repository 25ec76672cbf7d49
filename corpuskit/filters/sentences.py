"""Sentence splitting (nltk punkt, untrained: no download) and the sentence-based filters.

``PunktSentenceTokenizer()`` without training data still splits on sentence-final punctuation
with punkt's heuristics (it does not know abbreviations, so "Mr. Smith" splits after "Mr.").
It is built once per worker process.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import Field, model_validator

from corpuskit.document import Document
from corpuskit.errors import MissingDependencyError
from corpuskit.filters.base import Filter, Verdict
from corpuskit.step import CheckContext, Drop
from corpuskit.words import count_words


@cache
def punkt() -> Any:
    """The process-wide untrained punkt tokenizer."""
    try:
        from nltk.tokenize.punkt import PunktSentenceTokenizer
    except ImportError:
        raise MissingDependencyError("sentence splitting (nltk punkt)", "nlp") from None
    return PunktSentenceTokenizer()


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (punkt), stripped, without empty ones."""
    return [s.strip() for s in punkt().tokenize(text) if s.strip()]


class _SentenceFilter(Filter):
    def check(self, ctx: CheckContext) -> None:
        punkt()


class SentenceCountFilter(_SentenceFilter, kind="sentence_count"):
    """Keep documents with a number of sentences (punkt) in [min_sentences, max_sentences].

    Drop reasons: ``too_few_sentences``, ``too_many_sentences``.
    """

    drop_reasons = ("too_few_sentences", "too_many_sentences")

    min_sentences: int = Field(default=1, ge=0, description="drop documents with fewer sentences")
    max_sentences: int | None = Field(
        default=None, ge=0, description="drop documents with more sentences (no limit if unset)"
    )

    @model_validator(mode="after")
    def _ordered(self) -> SentenceCountFilter:
        if self.max_sentences is not None and self.max_sentences < self.min_sentences:
            raise ValueError(
                f"max_sentences {self.max_sentences} < min_sentences {self.min_sentences}"
            )
        return self

    def keep(self, doc: Document) -> Verdict:
        n = len(split_sentences(doc.text))
        if n < self.min_sentences:
            return Drop("too_few_sentences")
        if self.max_sentences is not None and n > self.max_sentences:
            return Drop("too_many_sentences")
        return True


class MaxSentenceLengthFilter(_SentenceFilter, kind="max_sentence_length"):
    """Drop documents with a sentence (punkt) longer than ``max_words`` words.

    Drop reasons: ``sentence_too_long``.
    """

    drop_reasons = ("sentence_too_long",)

    max_words: int = Field(default=25, ge=1, description="most words one sentence may have")

    def keep(self, doc: Document) -> Verdict:
        longest = max((count_words(s) for s in split_sentences(doc.text)), default=0)
        return Drop("sentence_too_long") if longest > self.max_words else True
