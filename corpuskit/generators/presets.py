"""The seed studies' prompt sets as generator kinds: paraphrase, grammar examples/book, Q&A.

Each is the ``llm`` generator with a built-in prompt set (``data/prompts.yaml``) and typed knobs.
The grammar kinds pair every seed document with phenomena from ``data/phenomena.yaml``, chosen by
a seeded hash of the seed's id, so the seed sentence supplies everyday vocabulary and the
phenomena are spread evenly over the seeds.
"""

from __future__ import annotations

import difflib
from typing import Any, ClassVar

from pydantic import Field

from corpuskit.document import Document
from corpuskit.errors import CorpuskitError
from corpuskit.generators.llm import LLMGenerator
from corpuskit.generators.prompts import phenomena
from corpuskit.hashing import hash_order
from corpuskit.step import CheckContext, RunContext


class ParaphraseGenerator(LLMGenerator, kind="paraphrase"):
    """k paraphrases of each seed sentence (one per line in the reply)."""

    prompt: str | None = Field(default="paraphrase", description="built-in prompt set")
    k: int = Field(default=3, ge=1, description="paraphrases asked for per request")

    def base_vars(self) -> dict[str, Any]:
        return {**super().base_vars(), "k": self.k}


class QAGenerator(LLMGenerator, kind="qa"):
    """k question-answer pairs about each seed passage (JSON reply, schema-validated)."""

    prompt: str | None = Field(default="qa", description="built-in prompt set")
    k: int = Field(default=3, ge=1, description="question-answer pairs asked for per request")

    def base_vars(self) -> dict[str, Any]:
        return {**super().base_vars(), "k": self.k}


class GrammarExamplesGenerator(LLMGenerator, kind="grammar_examples"):
    """Example sentences for grammatical phenomena, in the vocabulary of each seed sentence.

    Template fields besides the document's: ``phenomenon``, ``title``, ``description``,
    ``examples`` (a list) and ``field``.
    """

    extra_fields: ClassVar[tuple[str, ...]] = (
        "phenomenon",
        "title",
        "description",
        "examples",
        "field",
    )

    prompt: str | None = Field(default="grammar_examples", description="built-in prompt set")
    k: int = Field(default=5, ge=1, description="sentences asked for per request")
    phenomena: list[str] | None = Field(
        default=None, description="phenomenon names from the built-in list (None: all)"
    )
    phenomena_per_seed: int = Field(
        default=1, ge=1, description="phenomena (one request each) per seed document"
    )

    def base_vars(self) -> dict[str, Any]:
        return {**super().base_vars(), "k": self.k}

    def chosen(self) -> list[str]:
        known = phenomena()
        return list(self.phenomena) if self.phenomena is not None else sorted(known)

    def check(self, ctx: CheckContext) -> None:
        known = phenomena()
        for name in self.chosen():
            if name not in known:
                near = difflib.get_close_matches(name, list(known), n=1)
                hint = f"did you mean {near[0]}?" if near else f"known: {', '.join(sorted(known))}"
                raise CorpuskitError(f"unknown phenomenon {name!r}", hint=hint)
        super().check(ctx)

    def variants(self, doc: Document, ctx: RunContext, label: str) -> list[dict[str, Any]]:
        names = self.chosen()
        # A hash of the seed id orders the phenomena: the choice depends on the document only,
        # never on its partition or position, and spreads the phenomena evenly over many seeds.
        order = hash_order(names, ctx.seed, salt=f"{label}\x00{doc.id}")
        out = []
        for index in order[: self.phenomena_per_seed]:
            p = phenomena()[names[int(index)]]
            out.append(
                {
                    "phenomenon": p.name,
                    "title": p.title,
                    "description": p.description,
                    "examples": list(p.examples),
                    "field": p.field,
                    "_tag": p.name,
                }
            )
        return out


class GrammarBookGenerator(GrammarExamplesGenerator, kind="grammar_book"):
    """A grammar-book style explanation of a phenomenon, one per chosen phenomenon and seed."""

    prompt: str | None = Field(default="grammar_book", description="built-in prompt set")
    max_tokens: int = Field(default=512, gt=0, description="completion tokens per request")
