"""Small tables of documents written by the tests (no third-party text)."""

from __future__ import annotations

import pyarrow as pa

from corpuskit.document import BLOCK_SCHEMA, block_from_columns


def doc_text(n: int, tag: str) -> str:
    """``n`` words, with a sentence end after every third word (for sentence truncation)."""
    words = [f"{tag}{i}" + ("." if i % 3 == 2 else "") for i in range(n)]
    return " ".join(words)


def make_table(sources: dict[str, list[int]]) -> pa.Table:
    """One row per (source, word count), ids ``<source>:<index>``."""
    blocks = [
        block_from_columns(
            [f"{name}:{i}" for i in range(len(counts))],
            [doc_text(n, f"{name}{i}w") for i, n in enumerate(counts)],
            name,
            '{"license":"test"}',
        )
        for name, counts in sources.items()
    ]
    return pa.concat_tables(blocks) if blocks else BLOCK_SCHEMA.empty_table()


def words_of(table: pa.Table) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in table.select(["source", "words"]).to_pylist():
        out[row["source"]] = out.get(row["source"], 0) + row["words"]
    return out


def by_id(table: pa.Table) -> dict[str, str]:
    return dict(zip(table["id"].to_pylist(), table["text"].to_pylist(), strict=True))
