"""Row counts and sums per group of a few low-cardinality key columns, without Acero.

``Table.group_by`` runs an Acero plan, which allocates from Arrow's C++ default pool (mimalloc)
whatever pool pyarrow was told to use, and mimalloc keeps its pages on every thread that used it:
over a build that tallied each block's rejects this way that was ~17 MiB of resident memory
(issue #3 benchmark). Dictionary-encoding the keys and summing with numpy stays on the chosen pool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def sums_by(
    table: pa.Table,
    keys: list[str],
    value: str,
    after_batch: Callable[[], None] | None = None,
) -> dict[tuple[Any, ...], tuple[int, int]]:
    """{(key values): (rows, sum of ``value``)} over ``table``; nulls in keys form their own group.

    Groups appear in order of first appearance; a null ``value`` counts as a row adding 0.
    ``after_batch`` is called after each record batch (e.g. to release memory-mapped pages).
    """
    out: dict[tuple[Any, ...], tuple[int, int]] = {}
    for batch in table.select([*keys, value]).to_batches():
        if batch.num_rows == 0:
            continue
        codes = np.zeros(batch.num_rows, dtype=np.int64)
        labels: list[list[Any]] = []
        for name in keys:
            encoded = pc.dictionary_encode(batch[name], null_encoding="encode")
            codes = codes * len(encoded.dictionary) + encoded.indices.to_numpy()
            labels.append(encoded.dictionary.to_pylist())
        values = pc.fill_null(batch[value], 0).to_numpy()
        groups, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        rows = np.bincount(inverse, minlength=len(groups))
        order = np.argsort(inverse, kind="stable")
        starts = np.concatenate([[0], np.cumsum(rows)[:-1]])
        totals = np.add.reduceat(values[order].astype(np.int64), starts)
        for g in np.argsort(first, kind="stable"):
            key = _decode(int(groups[g]), labels)
            seen_rows, seen_sum = out.get(key, (0, 0))
            out[key] = (seen_rows + int(rows[g]), seen_sum + int(totals[g]))
        if after_batch is not None:
            after_batch()
    return out


def _decode(code: int, labels: list[list[Any]]) -> tuple[Any, ...]:
    """The key values of a combined code (mixed radix, last key fastest)."""
    parts = []
    for values in reversed(labels):
        code, index = divmod(code, len(values))
        parts.append(values[index])
    return tuple(reversed(parts))


def gather_values(column: pa.ChunkedArray, rows: np.ndarray) -> np.ndarray:
    """``column[rows]`` of a null-free numeric column, chunk by chunk without joining the chunks.

    Memory is one value per requested row (plus index temporaries), not per row of the column.
    """
    if len(rows) == 0:
        return np.zeros(0, dtype=column.type.to_pandas_dtype())
    lengths = [len(chunk) for chunk in column.chunks]
    starts = np.cumsum([0, *lengths])
    which = np.searchsorted(starts, rows, side="right") - 1
    order = np.argsort(which, kind="stable")
    present, first = np.unique(which[order], return_index=True)
    bounds = [*first.tolist(), len(rows)]
    out = np.empty(len(rows), dtype=column.type.to_pandas_dtype())
    for k, chunk_index in enumerate(present.tolist()):
        picked = order[bounds[k] : bounds[k + 1]]
        view = column.chunk(chunk_index).to_numpy()  # zero-copy: raises if the chunk has nulls
        out[picked] = view[rows[picked] - starts[chunk_index]]
    return out


def column_values(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """``values.to_numpy()`` that stays off Arrow's C++ default pool (see the module doc).

    Null-free numbers: each chunk's zero-copy view, joined by numpy when there are several.
    Booleans (nulls read as False): unpacked from the validity-free bitmaps with numpy. Any other
    type: pyarrow's own conversion.
    """
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    kind = values.type
    if pa.types.is_boolean(kind):
        parts = [_bits(chunk) for chunk in chunks]
    elif (pa.types.is_integer(kind) or pa.types.is_floating(kind)) and values.null_count == 0:
        parts = [chunk.to_numpy() for chunk in chunks]
    else:
        return values.to_numpy(zero_copy_only=False)
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=kind.to_pandas_dtype())


def _bits(chunk: pa.BooleanArray) -> np.ndarray:
    if chunk.null_count:
        chunk = pc.fill_null(chunk, False)
    buffer = chunk.buffers()[1]
    if buffer is None or len(chunk) == 0:
        return np.zeros(len(chunk), dtype=bool)
    bits = np.unpackbits(
        np.frombuffer(buffer, dtype=np.uint8), count=chunk.offset + len(chunk), bitorder="little"
    )
    return bits[chunk.offset :].view(bool)


def distinct_sorted(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` (sorted distinct values, flattened), by sorting.

    Since numpy 2.3 a plain ``np.unique`` first builds a hash table; for int64 keys with many
    distinct values that measured 30-70x slower than a sort (1.6M values: 2.0 s against 0.03 s,
    numpy 2.4.6). ``np.unique`` with ``return_index``/``return_counts`` still sorts.
    """
    out = np.sort(values, axis=None)
    if len(out) > 1:
        out = out[np.concatenate(([True], out[1:] != out[:-1]))]
    return out
