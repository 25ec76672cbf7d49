"""The ``text`` source: plain text files, one document per line (BabyLM ``.train``) or paragraph."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pyarrow as pa
from pydantic import Field

from corpuskit.datapaths import display_path, expand_paths
from corpuskit.document import block_from_columns, dump_meta
from corpuskit.sources.base import Source
from corpuskit.sources.lines import iter_byte_chunks, line_documents, split_lines
from corpuskit.sources.textio import LineChunk, decode_lines, file_sha256, iter_line_chunks
from corpuskit.step import CheckContext, RunContext


class TextSource(Source, kind="text"):
    """Plain text files (globs; .gz/.bz2/.xz/.zst read transparently).

    ``unit: line`` makes each non-blank line a document (BabyLM format); ``unit: paragraph`` joins
    runs of non-blank lines separated by blank lines. Ids are ``<name>:<file>:<first line>``, with
    the file relative to the data root. Lines that are not valid UTF-8 go to the rejects shard with
    reason ``decode_error`` and their file:line.
    """

    paths: list[str] = Field(
        description="files or glob patterns; relative ones are under the data root"
    )
    unit: Literal["line", "paragraph"] = Field(
        default="line", description="document unit: one per line, or per blank-line paragraph"
    )
    strip: bool = Field(
        default=True, description="strip leading/trailing whitespace of each document"
    )

    def input_files(self, ctx: CheckContext) -> list[Path]:
        return expand_paths(self.paths, ctx.data_root, what=f"source {self.name or self.kind}")

    def partitions(self, ctx: CheckContext) -> list[str]:
        return [str(p) for p in self.input_files(ctx)]

    def read_partition(self, key: str, ctx: RunContext) -> Iterator[pa.Table]:
        path = Path(key)
        shown = display_path(path, ctx.data_root)
        ctx.record_input(shown, file_sha256(path))
        name = self.name or self.kind
        meta = dump_meta({**self.base_meta(), "file": shown})
        prefix = f"{name}:{shown}:"
        if self.unit == "line":
            yield from self._read_lines(path, shown, ctx, prefix, name, meta)
            return
        for chunk in _paragraph_chunks(iter_line_chunks(path, shown)):
            yield from self._decode_chunk(chunk, ctx, prefix, name, meta)

    def _decode_chunk(
        self, chunk: LineChunk, ctx: RunContext, prefix: str, name: str, meta: str
    ) -> Iterator[pa.Table]:
        """Python decoding path: locates and rejects lines that are not valid UTF-8."""
        texts, bad = decode_lines(chunk)
        if self.unit == "paragraph":
            starts, texts = _split_paragraph_entries(texts)
        else:
            starts = list(range(chunk.first_line, chunk.first_line + len(texts)))
        if bad:
            if self.unit == "paragraph":
                bad_starts, bad_texts = _split_paragraph_entries([text for _, text in bad])
                bad_rows = list(zip(bad_starts, bad_texts, strict=True))
            else:
                bad_rows = [(starts[i], text) for i, text in bad]
            ctx.reject(
                block_from_columns(
                    [f"{prefix}{line}" for line, _ in bad_rows],
                    [text for _, text in bad_rows],
                    name,
                    meta,
                ),
                step=name,
                reasons=["decode_error"] * len(bad),
            )
            ctx.count(name, "decode_error", len(bad))
        bad_offsets = {i for i, _ in bad}
        keep = [
            i
            for i, text in enumerate(texts)
            if i not in bad_offsets and text and not text.isspace()
        ]
        if len(keep) != len(texts):
            starts, texts = [starts[i] for i in keep], [texts[i] for i in keep]
        if self.strip:
            texts = [t.strip() for t in texts]
        yield block_from_columns([f"{prefix}{s}" for s in starts], texts, name, meta)

    def _read_lines(
        self, path: Path, shown: str, ctx: RunContext, prefix: str, name: str, meta: str
    ) -> Iterator[pa.Table]:
        """Line mode: Arrow-native per chunk; a chunk with invalid UTF-8 takes the slow path."""
        for first_line, data in iter_byte_chunks(path, shown):
            lines = split_lines(data)
            if lines is None:
                yield from self._decode_chunk(
                    LineChunk(first_line, bytes(data).rstrip(b"\n").split(b"\n")),
                    ctx,
                    prefix,
                    name,
                    meta,
                )
                continue
            ids, texts, words = line_documents(lines, first_line, prefix, strip=self.strip)
            yield block_from_columns(ids, texts, name, meta, words)


def _split_paragraph_entries(entries: list[str]) -> tuple[list[int], list[str]]:
    """Undo the ``<first line>\\t<lines joined by NUL>`` encoding of ``_paragraph_chunks``."""
    starts: list[int] = []
    texts: list[str] = []
    for entry in entries:
        head, _, body = entry.partition("\t")
        starts.append(int(head) if head.isdigit() else 0)
        texts.append(body.replace("\x00", "\n"))
    return starts, texts


def _paragraph_chunks(chunks: Iterator[LineChunk]) -> Iterator[LineChunk]:
    """Regroup line chunks into paragraph entries ``b"<first line>\\t<lines joined by NUL>"``.

    A paragraph may span chunk boundaries, so the open paragraph is carried over. NUL stands for
    the inner newlines until the block is built (NUL does not occur in text we keep as a doc).
    """
    open_start: int | None = None
    open_lines: list[bytes] = []
    for chunk in chunks:
        out: list[bytes] = []
        for offset, raw in enumerate(chunk.lines):
            if raw.strip():
                if open_start is None:
                    open_start = chunk.first_line + offset
                open_lines.append(raw.rstrip(b"\r"))
            elif open_start is not None:
                out.append(b"%d\t" % open_start + b"\x00".join(open_lines))
                open_start, open_lines = None, []
        if out:
            yield LineChunk(chunk.first_line, out)
    if open_start is not None:
        yield LineChunk(open_start, [b"%d\t" % open_start + b"\x00".join(open_lines)])
