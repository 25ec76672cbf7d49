"""Record sources: ``jsonl``, ``csv``, ``tsv``, ``parquet`` and ``arrow``.

Each picks the text from one or more fields (joined) or renders it with a template, takes the id
from a field or from the record's position, and copies chosen fields into meta. Records that
cannot become documents go to the rejects shard, located by file and line (or row):
``decode_error``, ``malformed_record`` (not JSON, not an object, wrong number of columns, a list
where text was expected), ``missing_field`` (a text/id field absent or null).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from corpuskit.datapaths import display_path, expand_paths
from corpuskit.document import block_from_columns, dump_meta
from corpuskit.sources.emit import MISSING_FIELD, Emitter
from corpuskit.sources.records import (
    RecordItem,
    iter_delimited,
    iter_jsonl,
    parquet_row_group_ranges,
    table_batches,
)
from corpuskit.sources.render import RecordFieldsSource, RecordProblemError, RecordRenderer
from corpuskit.sources.textio import file_sha256
from corpuskit.step import CheckContext, RunContext


def emit_records(
    label: str,
    items: Iterable[RecordItem],
    shown: str,
    renderer: RecordRenderer,
    base: dict[str, Any],
    ctx: RunContext,
) -> Iterator[pa.Table]:
    """Blocks of documents from located records; unusable records become located rejects."""
    out = Emitter(label, ctx)
    shared = dump_meta(base)
    prefix = f"{label}:{shown}:"
    for item in items:
        fallback = str(item.position)
        if item.record is None:
            meta = {**base, "line": item.position}
            out.reject(prefix + fallback, item.raw, meta, item.reason, item.detail)
        else:
            try:
                text = renderer.text(item.record)
                doc_id = renderer.doc_id(item.record, f"{label}:", f"{shown}:{fallback}")
            except RecordProblemError as problem:
                raw = orjson.dumps(item.record, default=str).decode()
                meta = {**base, "line": item.position}
                out.reject(prefix + fallback, raw, meta, problem.reason, problem.detail)
                continue
            out.add(
                doc_id,
                text,
                {**base, **renderer.meta(item.record)} if renderer.meta_fields else shared,
            )
        if out.full:
            yield out.take()
    yield from out.finish()


class TabularSource(RecordFieldsSource):
    """Base of the file-based record sources (jsonl, csv/tsv, parquet, arrow)."""

    paths: list[str] = Field(
        description="files or glob patterns; relative ones are under the data root"
    )

    def input_files(self, ctx: CheckContext) -> list[Path]:
        return expand_paths(self.paths, ctx.data_root, what=f"source {self.label}")

    def partitions(self, ctx: CheckContext) -> list[str]:
        return [str(p) for p in self.input_files(ctx)]

    def renderer(self) -> RecordRenderer:
        return RecordRenderer(
            self.text_fields, self.join, self.template, self.id_field, self.meta_fields
        )

    def records(self, path: Path, shown: str) -> Iterator[RecordItem]:
        raise NotImplementedError

    def read_partition(self, key: str, ctx: RunContext) -> Iterator[pa.Table]:
        path = Path(key)
        shown = display_path(path, ctx.data_root)
        ctx.record_input(shown, file_sha256(path))
        base = {**self.base_meta(), "file": shown}
        yield from emit_records(
            self.label, self.records(path, shown), shown, self.renderer(), base, ctx
        )


class JsonlSource(TabularSource, kind="jsonl"):
    """JSON Lines files (.jsonl, optionally .gz/.bz2/.xz/.zst); ids ``<name>:<file>:<line>``."""

    def records(self, path: Path, shown: str) -> Iterator[RecordItem]:
        return iter_jsonl(path, shown)


class CsvSource(TabularSource, kind="csv"):
    """CSV files with a header row (or given ``columns``); ids ``<name>:<file>:<line>``."""

    delimiter: ClassVar[str] = ","

    header: bool = Field(default=True, description="the first non-blank row names the columns")
    columns: list[str] | None = Field(
        default=None, description="column names (for files without a header; else overrides it)"
    )
    quoting: bool = Field(default=True, description="honour CSV double-quote quoting")

    def records(self, path: Path, shown: str) -> Iterator[RecordItem]:
        return iter_delimited(
            path,
            shown,
            delimiter=self.delimiter,
            quoting=self.quoting,
            header=self.header,
            columns=self.columns,
        )


class TsvSource(CsvSource, kind="tsv"):
    """Tab-separated files; quotes are ordinary characters unless ``quoting`` is set."""

    delimiter: ClassVar[str] = "\t"

    quoting: bool = Field(default=False, description="honour CSV double-quote quoting")


class ArrowSource(TabularSource, kind="arrow"):
    """Arrow IPC files or streams (.arrow); ids ``<name>:<file>:<row>`` (0-based row)."""

    fmt: ClassVar[str] = "arrow"

    def read_partition(self, key: str, ctx: RunContext) -> Iterator[pa.Table]:
        path_text, _, groups = key.partition("#")
        path = Path(path_text)
        shown = display_path(path, ctx.data_root)
        row_groups, first_row = _parse_groups(groups)
        if first_row == 0:  # fingerprint a file once, not once per row-group partition
            ctx.record_input(shown, file_sha256(path))
        base = {**self.base_meta(), "file": shown}
        batches = table_batches(path, self.fmt, self._columns(), row_groups)
        if self.template is None and not self.meta_fields:
            yield from vector_blocks(
                self.label, self.renderer(), batches, shown, first_row, base, ctx
            )
        else:
            rows = _batch_rows(batches, first_row)
            yield from emit_records(self.label, rows, shown, self.renderer(), base, ctx)

    def _columns(self) -> list[str] | None:
        r = self.renderer()
        if self.template is not None:
            return None  # the template's fields are checked per record
        return list(
            dict.fromkeys([*r.text_fields, *([r.id_field] if r.id_field else []), *r.meta_fields])
        )


class ParquetSource(ArrowSource, kind="parquet"):
    """Parquet files, partitioned by runs of row groups; ids ``<name>:<file>:<row>`` (0-based)."""

    fmt: ClassVar[str] = "parquet"

    rows_per_partition: int = Field(
        default=1_000_000, ge=1, description="rows per partition (whole row groups, from metadata)"
    )

    def partitions(self, ctx: CheckContext) -> list[str]:
        keys = []
        for path in self.input_files(ctx):
            for start, end, row in parquet_row_group_ranges(path, self.rows_per_partition):
                keys.append(f"{path}#{start}-{end}@{row}")
        return keys


def vector_blocks(
    label: str,
    renderer: RecordRenderer,
    batches: Iterator[pa.RecordBatch],
    shown: str,
    row: int,
    base: dict[str, Any],
    ctx: RunContext,
) -> Iterator[pa.Table]:
    """Whole batches at once: null checks, joins and ids are Arrow kernels, not Python."""
    shared = dump_meta(base)
    for batch in batches:
        n = batch.num_rows
        cols = [_text_column(batch, f) for f in renderer.text_fields]
        if any(c is None for c in cols):  # a column of lists/structs: judge row by row
            rows = _batch_rows(iter([batch]), row)
            yield from emit_records(label, rows, shown, renderer, base, ctx)
            row += n
            continue
        texts: Any = (
            cols[0] if len(cols) == 1 else pc.binary_join_element_wise(*cols, _large(renderer.join))
        )
        positions = pa.array(np.arange(row, row + n).astype(str))
        if renderer.id_field is None:
            ids: Any = pc.binary_join_element_wise(f"{label}:{shown}:", positions, "")
            valid = pc.is_valid(texts)
        else:
            id_col = _text_column(batch, renderer.id_field)
            id_col = pa.nulls(n, pa.large_string()) if id_col is None else id_col
            ids = pc.binary_join_element_wise(_large(f"{label}:"), id_col, _large(""))
            valid = pc.and_(pc.is_valid(texts), pc.is_valid(ids))
        if not pc.all(valid).as_py():
            bad = pc.invert(valid)
            raws = [orjson.dumps(r, default=str).decode() for r in batch.filter(bad).to_pylist()]
            out = Emitter(label, ctx)
            for pos, raw in zip(positions.filter(bad).to_pylist(), raws, strict=True):
                meta = {**base, "line": int(pos)}
                out.reject(f"{label}:{shown}:{pos}", raw, meta, MISSING_FIELD, "null text or id")
            list(out.finish())
            ids, texts = ids.filter(valid), texts.filter(valid)
        yield block_from_columns(ids.cast(pa.string()), texts, label, shared)
        row += n


def _large(text: str) -> pa.Scalar:
    return pa.scalar(text, pa.large_string())


def _parse_groups(spec: str) -> tuple[list[int] | None, int]:
    if not spec:
        return None, 0
    groups, _, row = spec.partition("@")
    start, _, end = groups.partition("-")
    return list(range(int(start), int(end))), int(row)


def _batch_rows(batches: Iterator[pa.RecordBatch], row: int) -> Iterator[RecordItem]:
    for batch in batches:
        for record in batch.to_pylist():
            yield RecordItem(row, record)
            row += 1


def _text_column(batch: pa.RecordBatch, name: str) -> pa.Array | None:
    """The column as large_string (all null when absent); None when it is not a scalar type."""
    if name not in batch.schema.names:
        return pa.nulls(batch.num_rows, pa.large_string())
    column = batch.column(name)
    kind = column.type
    # Only types whose Arrow string form equals Python's str() (floats and bools differ).
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind):
        return column.cast(pa.large_string())
    return None
