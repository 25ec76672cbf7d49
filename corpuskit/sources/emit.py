"""Batching of documents and rejects into Arrow blocks, shared by the record-based sources."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow as pa

from corpuskit.document import block_from_columns, dump_meta
from corpuskit.sources.base import BLOCK_ROWS
from corpuskit.step import RunContext

# Stable reject reasons of sources (API: asserted in tests, counted in the ledger).
DECODE_ERROR = "decode_error"
MALFORMED_RECORD = "malformed_record"
MISSING_FIELD = "missing_field"


class Emitter:
    """Collects (id, text, meta) rows and rejected records; yields blocks of ``block_rows``.

    Rejects are handed to ``ctx.reject`` under the source's label, so the ledger counts every
    record read: kept (``docs_out``) or rejected (``dropped.<reason>``).

    Typical use::

        out = Emitter(self.label, ctx)
        for ...:
            out.add(doc_id, text, meta)
            if out.full:
                yield out.take()
        yield from out.finish()
    """

    def __init__(self, label: str, ctx: RunContext, block_rows: int = BLOCK_ROWS):
        self.label = label
        self.ctx = ctx
        self.block_rows = block_rows
        self._ids: list[str] = []
        self._texts: list[str] = []
        self._metas: list[str] = []
        self._bad: list[tuple[str, str, str, str]] = []

    @staticmethod
    def _meta(meta: str | Mapping[str, Any]) -> str:
        return meta if isinstance(meta, str) else dump_meta(meta)

    def add(self, doc_id: str, text: str, meta: str | Mapping[str, Any]) -> None:
        """Queue one document (``meta`` as a dict or already-canonical JSON)."""
        self._ids.append(doc_id)
        self._texts.append(text)
        self._metas.append(self._meta(meta))

    def reject(
        self, doc_id: str, text: str, meta: str | Mapping[str, Any], reason: str, detail: str = ""
    ) -> None:
        """Queue one rejected record; ``detail`` (e.g. the parse error) goes into its meta."""
        if detail:
            meta = {**(meta if isinstance(meta, Mapping) else _loads(meta)), "error": detail}
        self._bad.append((doc_id, text, self._meta(meta), reason))
        self.ctx.count(self.label, reason)

    @property
    def full(self) -> bool:
        return len(self._ids) >= self.block_rows

    def take(self) -> pa.Table:
        """The queued documents as one block (rejects are flushed to ``ctx`` at the same time)."""
        self._flush_rejects()
        block = block_from_columns(self._ids, self._texts, self.label, self._metas)
        self._ids, self._texts, self._metas = [], [], []
        return block

    def finish(self) -> Iterator[pa.Table]:
        """The last, partial block (if any) and the remaining rejects."""
        if self._ids:
            yield self.take()
        self._flush_rejects()

    def _flush_rejects(self) -> None:
        if not self._bad:
            return
        ids, texts, metas, reasons = (list(col) for col in zip(*self._bad, strict=True))
        self.ctx.reject(
            block_from_columns(ids, texts, self.label, metas), step=self.label, reasons=reasons
        )
        self._bad = []


def _loads(meta: str) -> dict[str, Any]:
    import json

    loaded = json.loads(meta) if meta else {}
    return dict(loaded) if isinstance(loaded, dict) else {}
