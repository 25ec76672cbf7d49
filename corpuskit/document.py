"""Document: the unit that flows through a recipe, and its Arrow block form.

On the hot path documents travel as Arrow tables with the columns of ``BLOCK_SCHEMA`` (a block),
so that reading, counting and filtering are vectorised. ``Document`` is the per-record view that
user code (``Filter.keep``, ``Generator.generate``) works with.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from corpuskit.words import count_words, count_words_array


@dataclass(frozen=True, slots=True)
class Document:
    """One text with a stable id and its provenance.

    Attributes:
        id: stable identifier derived from provenance (source name + position) or content.
        text: the text itself.
        source: name of the recipe source it came from (generated text keeps its seed's source).
        meta: provenance and annotations (license, file, line, generator model, ...); JSON-able.
    """

    id: str
    text: str
    source: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def words(self) -> int:
        return count_words(self.text)


Docs = Iterator[Document]

BLOCK_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.large_string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("words", pa.int64(), nullable=False),
        pa.field("meta", pa.string(), nullable=False),
    ]
)
REJECT_SCHEMA = pa.schema(
    [
        *BLOCK_SCHEMA,
        pa.field("step", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
    ]
)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with ``schema``: as it is when the types already match, else cast.

    A cast reads every buffer even when nothing changes, which on a memory-mapped staged file
    would pull all of its pages into memory.
    """
    return table if table.schema.equals(schema) else table.cast(schema)


def dump_meta(meta: Mapping[str, Any]) -> str:
    """Canonical JSON for meta: sorted keys, so equal meta gives equal bytes."""
    return json.dumps(dict(meta), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def docs_to_block(docs: Iterable[Document]) -> pa.Table:
    """Arrow block from documents; the word column is computed here, never trusted from input."""
    docs = list(docs)
    texts = pa.array([d.text for d in docs], pa.large_string())
    return pa.table(
        [
            pa.array([d.id for d in docs], pa.string()),
            texts,
            pa.array([d.source for d in docs], pa.string()),
            count_words_array(texts),
            pa.array([dump_meta(d.meta) for d in docs], pa.string()),
        ],
        schema=BLOCK_SCHEMA,
    )


def block_from_columns(
    ids: pa.Array | list[str],
    texts: pa.Array | list[str],
    source: str,
    meta: str | list[str],
    words: pa.Array | None = None,
) -> pa.Table:
    """Arrow block from columns; ``meta`` may be one JSON string shared by every row.

    ``words`` may be passed when the caller already counted them with ``count_words_array``.
    """
    text_arr = pa.array(texts, pa.large_string()) if isinstance(texts, list) else texts
    n = len(text_arr)
    meta_arr = (
        pa.repeat(pa.scalar(meta, pa.string()), n)
        if isinstance(meta, str)
        else (pa.array(meta, pa.string()))
    )
    return pa.table(
        [
            pa.array(ids, pa.string()) if isinstance(ids, list) else ids,
            text_arr.cast(pa.large_string()),
            pa.array([source] * n, pa.string()),
            count_words_array(text_arr) if words is None else words,
            meta_arr,
        ],
        schema=BLOCK_SCHEMA,
    )


def block_to_docs(block: pa.Table) -> Iterator[Document]:
    """Documents from an Arrow block (meta parsed back from JSON)."""
    cols = block.select(["id", "text", "source", "meta"]).to_pydict()
    for doc_id, text, source, meta in zip(
        cols["id"], cols["text"], cols["source"], cols["meta"], strict=True
    ):
        yield Document(doc_id, text, source, json.loads(meta) if meta else {})


def empty_block() -> pa.Table:
    return BLOCK_SCHEMA.empty_table()
