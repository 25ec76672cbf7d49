"""Mappers: steps that rewrite documents rather than judge them (listed under ``filters:``).

Each rewrites the text column of a block (vectorised where Arrow can) and recounts words.
``split_sentences`` turns one document into one per sentence, with stable derived ids
``<id>#<k>`` (k from 0); a document without any sentence goes to the rejects with reason
``no_sentences``, so nothing disappears silently.
"""

from __future__ import annotations

import html
import json
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from corpuskit.document import BLOCK_SCHEMA, dump_meta
from corpuskit.filters.base import Mapper
from corpuskit.filters.script import ENTITY_PATTERN
from corpuskit.filters.sentences import punkt, split_sentences
from corpuskit.filters.textops import PY_WHITESPACE, as_bool, text_column
from corpuskit.step import CheckContext, RunContext
from corpuskit.words import count_words_array

INLINE_SPACE = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in PY_WHITESPACE if c not in "\n") + "]"


def with_texts(block: pa.Table, texts: pa.Array) -> pa.Table:
    """``block`` with its text replaced and its words recounted."""
    texts = texts.cast(pa.large_string())
    out = block.set_column(block.schema.get_field_index("text"), "text", texts)
    return out.set_column(out.schema.get_field_index("words"), "words", count_words_array(texts))


class NormalizeWhitespaceMapper(Mapper, kind="normalize_whitespace"):
    """Collapse whitespace: runs of spaces/tabs become one space, lines are stripped.

    With ``keep_newlines`` line breaks survive (three or more collapse to a blank line);
    otherwise the whole text becomes one line.
    """

    keep_newlines: bool = Field(default=True, description="keep line breaks (else join lines)")

    def map_block(self, block: pa.Table) -> pa.Table:
        texts = text_column(block)
        if not self.keep_newlines:
            texts = pc.replace_substring_regex(texts, f"(?:{INLINE_SPACE}|\n)+", " ")
            return with_texts(block, pc.utf8_trim(texts, characters=PY_WHITESPACE))
        texts = pc.replace_substring_regex(texts, "\r\n?", "\n")
        texts = pc.replace_substring_regex(texts, f"{INLINE_SPACE}+", " ")
        texts = pc.replace_substring_regex(texts, "(?m: ?\n ?)", "\n")
        texts = pc.replace_substring_regex(texts, "\n{3,}", "\n\n")
        return with_texts(block, pc.utf8_trim(texts, characters=PY_WHITESPACE))


class NormalizeUnicodeMapper(Mapper, kind="normalize_unicode"):
    """Apply a Unicode normal form (NFC by default; NFKC also folds compatibility characters)."""

    form: Literal["NFC", "NFKC", "NFD", "NFKD"] = Field(
        default="NFC", description="Unicode normalisation form"
    )

    def map_block(self, block: pa.Table) -> pa.Table:
        return with_texts(block, pc.utf8_normalize(text_column(block), form=self.form))


class StripMarkupMapper(Mapper, kind="strip_markup"):
    """Remove HTML/XML tags, wiki/Markdown link syntax and headings; decode HTML entities."""

    def map_block(self, block: pa.Table) -> pa.Table:
        texts = pc.replace_substring_regex(text_column(block), r"</?[A-Za-z][^<>]*>", "")
        texts = pc.replace_substring_regex(texts, r"\[\[(?:[^\]|]*\|)?([^\]]*)\]\]", r"\1")
        texts = pc.replace_substring_regex(texts, r"\{\{[^{}]*\}\}", "")
        texts = pc.replace_substring_regex(texts, r"\[([^\]]*)\]\([^)]*\)", r"\1")
        texts = pc.replace_substring_regex(texts, r"(?m:^#{1,6} )", "")
        has_entity = as_bool(pc.match_substring_regex(texts, ENTITY_PATTERN))
        if has_entity.any():  # entities need a real HTML decoder: only rows that have one
            values = texts.to_pylist()
            for i in np.flatnonzero(has_entity):
                values[i] = html.unescape(values[i])
            texts = pa.array(values, pa.large_string())
        return with_texts(block, texts)


class SplitSentencesMapper(Mapper, kind="split_sentences"):
    """One document per sentence (punkt), ids ``<id>#<k>``, meta gains ``parent`` and ``sentence``.

    Rejects: ``no_sentences`` (a document with no sentence at all, e.g. only whitespace).
    """

    drop_reasons = ("no_sentences",)

    def check(self, ctx: CheckContext) -> None:
        punkt()

    def process(self, block: pa.Table, ctx: RunContext, label: str) -> pa.Table:
        mask = self.applies_mask(block)
        applies = np.ones(block.num_rows, dtype=bool) if mask is None else as_bool(mask)
        rows = block.select(["id", "text", "source", "meta"]).to_pylist()
        out: list[tuple[str, str, str, str]] = []
        empty = []
        for i, row in enumerate(rows):
            if not applies[i]:
                out.append((row["id"], row["text"], row["source"], row["meta"]))
                continue
            sentences = split_sentences(row["text"])
            if not sentences:
                empty.append(i)
            parsed = json.loads(row["meta"]) if row["meta"] else {}
            for k, sentence in enumerate(sentences):
                meta = dump_meta({**parsed, "parent": row["id"], "sentence": k})
                out.append((f"{row['id']}#{k}", sentence, row["source"], meta))
        ids, texts, sources, metas = (
            (list(col) for col in zip(*out, strict=True)) if out else ([], [], [], [])
        )
        if empty:
            ctx.reject(
                block.take(pa.array(empty)), step=label, reasons=["no_sentences"] * len(empty)
            )
        text_arr = pa.array(texts, pa.large_string())
        return pa.table(
            [
                pa.array(ids, pa.string()),
                text_arr,
                pa.array(sources, pa.string()),
                count_words_array(text_arr),
                pa.array(metas, pa.string()),
            ],
            schema=BLOCK_SCHEMA,
        )
