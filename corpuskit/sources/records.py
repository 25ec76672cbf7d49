"""Streaming record readers (jsonl, csv/tsv, parquet, arrow), each record located in its file.

A reader yields ``RecordItem``s: a parsed record with its position (1-based line for text formats,
0-based row for parquet/arrow), or, for input that cannot be a record, the raw text with a stable
reason (``decode_error``, ``malformed_record``) and a detail. Memory is bounded by one chunk or
one record batch, whatever the file size.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import pyarrow as pa

from corpuskit.errors import InputError
from corpuskit.sources.emit import DECODE_ERROR, MALFORMED_RECORD
from corpuskit.sources.textio import iter_line_chunks, open_binary

BATCH_ROWS = 65_536
_SURROGATE = re.compile("[\udc80-\udcff]")


class RecordItem(NamedTuple):
    """One record (``record`` set) or one unusable input (``reason`` set, ``raw`` its text)."""

    position: int
    record: dict[str, Any] | None
    raw: str = ""
    reason: str = ""
    detail: str = ""


def iter_jsonl(path: Path, shown: str) -> Iterator[RecordItem]:
    """JSON objects, one per line; blank lines are skipped (they hold no record)."""
    loads = orjson.loads
    for chunk in iter_line_chunks(path, shown):
        for offset, raw in enumerate(chunk.lines):
            try:
                obj = loads(raw)
            except orjson.JSONDecodeError as exc:
                if not raw.strip():
                    continue
                yield _bad_json_line(chunk.first_line + offset, raw, exc)
                continue
            if isinstance(obj, dict):
                yield RecordItem(chunk.first_line + offset, obj)
            else:
                yield RecordItem(
                    chunk.first_line + offset,
                    None,
                    raw.decode("utf-8", "replace"),
                    MALFORMED_RECORD,
                    f"a JSON {type(obj).__name__}, not an object",
                )


def _bad_json_line(line: int, raw: bytes, exc: Exception) -> RecordItem:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return RecordItem(line, None, raw.decode("utf-8", "replace"), DECODE_ERROR, str(bad))
    return RecordItem(line, None, text, MALFORMED_RECORD, f"not JSON ({exc})")


def iter_delimited(
    path: Path,
    shown: str,
    *,
    delimiter: str,
    quoting: bool,
    header: bool,
    columns: Sequence[str] | None = None,
) -> Iterator[RecordItem]:
    """CSV/TSV records keyed by column name, positioned at their first line.

    The column names come from ``columns``, else the header row, else ``"0"``, ``"1"``, ... (from
    the first row's width). A row of another width is ``malformed_record``; bytes that are not
    UTF-8 make a ``decode_error``. A leading BOM is dropped.
    """
    csv.field_size_limit(sys.maxsize)
    raw = open_binary(path)
    # surrogateescape keeps the stream going past bad bytes, so they can be located and rejected.
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(
        text,
        delimiter=delimiter,
        quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE,
        strict=quoting,
    )
    names = list(columns) if columns else None
    start = 1
    try:
        with text:
            for row in reader:
                line, start = start, reader.line_num + 1
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if header:  # the first non-blank row
                    names = names or row
                    header = False
                    continue
                if names is None:
                    names = [str(i) for i in range(len(row))]
                raw_text = delimiter.join(row)
                if _SURROGATE.search(raw_text):
                    yield RecordItem(line, None, _unescape(raw_text), DECODE_ERROR, "not UTF-8")
                elif len(row) != len(names):
                    yield RecordItem(
                        line,
                        None,
                        raw_text,
                        MALFORMED_RECORD,
                        f"{len(row)} columns, expected {len(names)}",
                    )
                else:
                    yield RecordItem(line, dict(zip(names, row, strict=True)))
    except csv.Error as exc:
        raise InputError(
            f"{shown}:{reader.line_num}: cannot parse as CSV ({exc})",
            hint="check the quoting, or set quoting: false for files with bare quotes",
        ) from exc
    except (EOFError, OSError) as exc:
        raise InputError(
            f"{shown}:{reader.line_num}: cannot read compressed input past this line ({exc})",
            hint="the file is truncated or corrupt; re-download it or check its checksum",
        ) from exc


def _unescape(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def table_batches(
    path: Path, fmt: str, columns: Sequence[str] | None, row_groups: Sequence[int] | None = None
) -> Iterator[pa.RecordBatch]:
    """Record batches of a parquet file (optionally some row groups) or an Arrow IPC file/stream."""
    wanted = list(columns) if columns else None
    if fmt == "parquet":
        import pyarrow.parquet as pq  # here: it loads Arrow's filesystems (~8 MiB) too

        pf = pq.ParquetFile(str(path))
        missing = [c for c in wanted or [] if c not in pf.schema_arrow.names]
        yield from pf.iter_batches(
            batch_size=BATCH_ROWS,
            row_groups=list(row_groups) if row_groups is not None else None,
            columns=[c for c in wanted or [] if c not in missing] if wanted else None,
        )
        return
    source = pa.memory_map(str(path), "r")
    try:
        reader: Any = pa.ipc.open_file(source)
        batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
    except pa.ArrowInvalid:
        source.seek(0)
        batches = iter(pa.ipc.open_stream(source))
    for batch in batches:
        present = [c for c in wanted or [] if c in batch.schema.names]
        yield batch.select(present) if wanted else batch


def parquet_row_group_ranges(path: Path, rows_per_partition: int) -> list[tuple[int, int, int]]:
    """(first row group, end row group, first row) runs holding about ``rows_per_partition`` rows.

    Decided from the file's metadata only, so partitions never depend on the worker count.
    """
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(str(path)).metadata
    ranges: list[tuple[int, int, int]] = []
    start_group, start_row, rows, row = 0, 0, 0, 0
    for group in range(meta.num_row_groups):
        n = meta.row_group(group).num_rows
        rows += n
        row += n
        if rows >= rows_per_partition:
            ranges.append((start_group, group + 1, start_row))
            start_group, start_row, rows = group + 1, row, 0
    if start_group < meta.num_row_groups or not ranges:
        ranges.append((start_group, meta.num_row_groups, start_row))
    return ranges
