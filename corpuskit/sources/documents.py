"""The ``documents`` source: a literal list, for tests, notebooks and the first extension rung."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import Field

from corpuskit.document import Document
from corpuskit.sources.base import Source
from corpuskit.step import RunContext


class DocumentsSource(Source, kind="documents"):
    """Documents given inline: a list of strings or of ``{text, id?, meta?}`` mappings.

    Ids default to ``<name>:<index>``.
    """

    documents: list[str | dict[str, Any]] = Field(
        description="the texts, or mappings with 'text' and optional 'id' and 'meta'"
    )

    def read(self, ctx: RunContext) -> Iterator[Document]:
        name = self.name or self.kind
        for index, item in enumerate(self.documents):
            if isinstance(item, str):
                text, doc_id, meta = item, f"{name}:{index}", {}
            else:
                text = str(item.get("text", ""))
                doc_id = str(item.get("id") or f"{name}:{index}")
                meta = dict(item.get("meta") or {})
            yield Document(doc_id, text, name, {**self.base_meta(), **meta})
