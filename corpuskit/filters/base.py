"""Filter and Mapper: the block steps that run per partition.

A ``Filter`` is a pure predicate: ``keep(doc)`` returns ``True`` or ``Drop("reason")``. Filters that
can be vectorised override ``drop_reasons_block`` to decide a whole Arrow block at once. A
``Mapper`` rewrites documents (``map(doc)``) and lives beside the filters with the same
bookkeeping. Both can be restricted to some sources with ``only_sources``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import create_model

from corpuskit.document import BLOCK_SCHEMA, Document, block_to_docs, docs_to_block
from corpuskit.step import Drop, RunContext, Step
from corpuskit.tally import column_values

Verdict = bool | Drop


class BlockStep(Step):
    """A step that transforms one Arrow block at a time (filters, mappers, generators)."""

    def process(self, block: pa.Table, ctx: RunContext, label: str) -> pa.Table:
        raise NotImplementedError

    def applies_mask(self, block: pa.Table) -> pa.Array | None:
        """Rows this step applies to, or None for all rows."""
        if self.only_sources is None:
            return None
        return pc.is_in(block["source"], value_set=pa.array(self.only_sources, pa.string()))


class Filter(BlockStep):
    """Base of all filters. Declare ``drop_reasons``; return ``Drop(reason)`` from ``keep``."""

    family: ClassVar[str] = "filters"
    drop_reasons: ClassVar[tuple[str, ...]] = ()

    def keep(self, doc: Document) -> Verdict:
        """``True`` or ``Drop(reason)``. Vectorised filters get this from ``drop_reasons_block``."""
        if type(self).drop_reasons_block is Filter.drop_reasons_block:
            raise NotImplementedError(
                f"{type(self).__name__} must implement keep() or drop_reasons_block()"
            )
        reason = as_string_array(self.drop_reasons_block(docs_to_block([doc])))[0].as_py()
        return True if reason is None else Drop(reason)

    def drop_reasons_block(self, block: pa.Table) -> Sequence[str | None] | pa.Array:
        """Reason per row (None keeps it). Override to vectorise; default calls ``keep``."""
        return [self.verdict_reason(self.keep(doc)) for doc in block_to_docs(block)]

    def verdict_reason(self, verdict: Verdict) -> str | None:
        if verdict is True:
            return None
        if isinstance(verdict, Drop):
            return verdict.reason
        if verdict is False:
            return self.drop_reasons[0] if self.drop_reasons else self.kind
        raise TypeError(f"{type(self).__name__}.keep returned {verdict!r}; expected bool or Drop")

    def process(self, block: pa.Table, ctx: RunContext, label: str) -> pa.Table:
        mask = self.applies_mask(block)
        if mask is None:
            reasons = as_string_array(self.drop_reasons_block(block))
        else:
            idx = np.flatnonzero(column_values(mask))
            sub = as_string_array(self.drop_reasons_block(block.take(idx)))
            full = np.full(block.num_rows, None, dtype=object)
            full[idx] = sub.to_numpy(zero_copy_only=False)
            reasons = pa.array(full, pa.string())
        dropped = pc.is_valid(reasons)
        ctx.reject(block.filter(dropped), step=label, reasons=reasons.filter(dropped))
        return block.filter(pc.invert(dropped))

    def decide(self, doc: Document) -> str | None:
        """The drop reason for one document, or None to keep it (used by ``corpuskit.testing``)."""
        reason = as_string_array(self.drop_reasons_block(docs_to_block([doc])))[0].as_py()
        return None if reason is None else str(reason)


class Mapper(BlockStep):
    """Base of document rewriters (normalisers, markup strippers). Words are recounted after.

    A mapper that can reject documents (e.g. one that splits them) declares ``drop_reasons``.
    """

    family: ClassVar[str] = "filters"
    drop_reasons: ClassVar[tuple[str, ...]] = ()

    def map(self, doc: Document) -> Document:
        raise NotImplementedError(f"{type(self).__name__} must implement map()")

    def map_block(self, block: pa.Table) -> pa.Table:
        """Rewritten block (same rows, same order). Override to vectorise."""
        return docs_to_block(self.map(doc) for doc in block_to_docs(block))

    def process(self, block: pa.Table, ctx: RunContext, label: str) -> pa.Table:
        mask = self.applies_mask(block)
        if mask is None:
            return self.map_block(block)
        chosen = column_values(mask)
        if chosen.all():
            return self.map_block(block)
        if not chosen.any():
            return block
        # A stage-1 block holds one source's partition, so mixed blocks are rare; a mapper may
        # change the number of rows (sentence splitting), so mapped rows simply come first.
        mapped = self.map_block(block.filter(mask)).cast(BLOCK_SCHEMA)
        return pa.concat_tables([mapped, block.filter(pc.invert(mask)).cast(BLOCK_SCHEMA)])


def as_string_array(values: Sequence[str | None] | pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous Arrow string array from a list or (chunked) array of reasons."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(pa.string())
    return pa.array(list(values), pa.string())


def filter_function(
    kind: str, *, reasons: Sequence[str] = ()
) -> Callable[[Callable[..., Any]], type]:
    """Register a plain function ``fn(doc, **params) -> bool | Drop`` as a filter kind.

    Keyword parameters with defaults become the filter's typed, validated fields.
    """

    def decorate(fn: Callable[..., Any]) -> type:
        fields: dict[str, Any] = {}
        for param in list(inspect.signature(fn).parameters.values())[1:]:
            annotation = (
                param.annotation if param.annotation is not inspect.Parameter.empty else Any
            )
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[param.name] = (annotation, default)

        def keep(self: Filter, doc: Document) -> Verdict:
            params = self.model_dump(exclude={"only_sources"})
            verdict: Verdict = fn(doc, **params)
            return verdict

        base: Any = type(
            f"_{fn.__name__}_base",
            (Filter,),
            {"keep": keep, "__doc__": fn.__doc__, "__module__": fn.__module__},
        )
        base.drop_reasons = tuple(reasons)
        cls_name = "".join(part.title() for part in kind.split("_")) + "Filter"
        cls: type = create_model(
            cls_name,
            __base__=base,
            __module__=fn.__module__,
            __cls_kwargs__={"kind": kind},
            __doc__=fn.__doc__,
            **fields,
        )
        return cls

    return decorate
