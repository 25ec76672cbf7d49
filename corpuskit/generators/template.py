"""The ``template`` generator: fill sentence patterns from word lists; no model needed.

Patterns are format strings whose fields name word lists (``"The {adj} {noun} {verb}."``); the
seed document's ``text``, ``id`` and ``source`` are fields too. Each seed gets ``per_seed``
sentences drawn with an RNG seeded by (recipe seed, step label, seed id), so the output depends on
the documents only, never on partitions or workers.
"""

from __future__ import annotations

import hashlib
import random
import string
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
from pydantic import Field

from corpuskit.document import Document, block_to_docs
from corpuskit.errors import CorpuskitError
from corpuskit.generators.base import Generator, synthetic_meta
from corpuskit.generators.prompts import check_fields, compile_template, prompt_hash
from corpuskit.generators.quota import partition_quota
from corpuskit.step import CheckContext, RunContext

SEED_FIELDS = ("text", "id", "source")


class TemplateGenerator(Generator, kind="template"):
    """Sentences from patterns and word lists, seeded per document."""

    patterns: list[str] = Field(
        min_length=1, description="format-string patterns, e.g. 'The {noun} {verb}.'"
    )
    words: dict[str, list[str]] = Field(
        default_factory=dict, description="word lists by field name, inline"
    )
    word_files: dict[str, str] = Field(
        default_factory=dict,
        description="word lists by field name from files (one word per line; under the data root "
        "when relative)",
    )
    per_seed: int = Field(default=1, ge=1, description="sentences generated per seed document")

    def check(self, ctx: CheckContext) -> None:
        available = {*SEED_FIELDS, *self.words, *self.word_files}
        for i, pattern in enumerate(self.patterns):
            check_fields(compile_template(pattern, "format"), available, f"patterns[{i}]")
        for name, items in self.words.items():
            if not items:
                raise CorpuskitError(f"word list {name!r} is empty")
        for name, path in self.word_files.items():
            if not Path(ctx.resolve(path)).is_file():
                raise CorpuskitError(f"word file for {name!r} not found: {path}")

    def word_lists(self, ctx: RunContext | CheckContext) -> dict[str, list[str]]:
        lists = {k: list(v) for k, v in self.words.items()}
        for name, path in self.word_files.items():
            resolved = Path(CheckContext(ctx.data_root).resolve(path))
            lines = resolved.read_text(encoding="utf-8").splitlines()
            lists[name] = [w.strip() for w in lines if w.strip()]
        return lists

    def process(self, block: pa.Table, ctx: RunContext, label: str) -> pa.Table:
        mask = self.applies_mask(block)
        seeds = block if mask is None else block.filter(mask)
        lists = self.word_lists(ctx)
        quota = partition_quota(self, ctx, label)
        made: list[Document] = []
        for doc in block_to_docs(seeds):
            for new in self.fill(doc, lists, ctx.seed, label):
                if not quota.admit(new.text):
                    break
                made.append(new)
            if quota.full:
                break
        return self.finish(block, mask, made, quota, ctx, label)

    def fill(
        self, doc: Document, lists: dict[str, list[str]], seed: int, label: str
    ) -> Iterable[Document]:
        """``per_seed`` filled patterns for one seed document."""
        digest = hashlib.sha256(f"{seed}\x00{label}\x00{doc.id}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))
        formatter = string.Formatter()
        for i in range(self.per_seed):
            p_index = rng.randrange(len(self.patterns))
            pattern = self.patterns[p_index]
            values = {"text": doc.text, "id": doc.id, "source": doc.source}
            # Fields are drawn in pattern order, so the same field twice gets two draws only if
            # written twice under different names; one name is one word per sentence.
            for _, name, _, _ in formatter.parse(pattern):
                if name and name not in values:
                    values[name] = rng.choice(lists[name])
            text = pattern.format_map(values)
            provenance = {
                "step": label,
                "kind": self.kind,
                "pattern": p_index,
                "pattern_hash": prompt_hash(pattern),
                "rng_seed": seed,
            }
            yield Document(
                f"{doc.id}~{label}:{i}", text, doc.source, synthetic_meta(doc, provenance)
            )

    def generate(self, doc: Document) -> Iterable[Document]:
        if self.word_files:
            raise CorpuskitError(
                "generate(doc) needs inline words (word_files are read in process())"
            )
        return self.fill(doc, self.words, 0, self.kind)
