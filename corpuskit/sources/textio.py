"""Streaming, fingerprinted reading of (possibly compressed) text files in line-aligned chunks."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from corpuskit.errors import InputError

# Bytes read at a time. A block of lines made from one chunk costs several times its text in
# memory (ids, texts, per-row meta and word counts, the filter's copy, numpy temporaries), so the
# chunk bounds a build's stage-1 peak: 256 KiB kept it ~20 MiB lower than 1 MiB at the same speed
# on the issue-#3 benchmark. Shard bytes do not depend on it (fixed-size record batches).
CHUNK_BYTES = 1 << 18


def open_binary(path: Path) -> IO[bytes]:
    """Open a file for reading bytes, decompressing .gz/.bz2/.xz/.zst transparently."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if suffix == ".bz2":
        return bz2.open(path, "rb")
    if suffix == ".xz":
        return lzma.open(path, "rb")
    if suffix in (".zst", ".zstd"):
        return io.BufferedReader(_ZstdReader(path.open("rb")), CHUNK_BYTES)
    return path.open("rb")


class _ZstdReader(io.RawIOBase):
    """zstd frames decoded through ``decompressobj``.

    ``zstandard``'s ``stream_reader`` ends quietly on a truncated frame; here the end of the raw
    file inside a frame is an ``EOFError``, like gzip/bz2/lzma report it.
    """

    def __init__(self, raw: IO[bytes]):
        import zstandard

        self._zstd = zstandard
        self._raw = raw
        self._dobj = zstandard.ZstdDecompressor().decompressobj()
        self._pending = b""
        self._in_frame = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            block = self._raw.read(1 << 20)
            if not block:
                if self._in_frame:
                    raise EOFError("zstd stream ended before the end of its frame")
                return 0
            self._pending = self._feed(block)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _feed(self, block: bytes) -> bytes:
        out = []
        while block:
            self._in_frame = True
            try:
                out.append(self._dobj.decompress(block))
            except self._zstd.ZstdError as exc:
                raise OSError(f"corrupt zstd data ({exc})") from exc
            if not self._dobj.eof:
                break
            # Frame complete: what follows (if anything) starts another frame.
            block = self._dobj.unused_data
            self._dobj = self._zstd.ZstdDecompressor().decompressobj()
            self._in_frame = False
        return b"".join(out)

    def close(self) -> None:
        self._raw.close()
        super().close()


def file_sha256(path: Path) -> str:
    """sha256 of the file's bytes on disk (compressed form), streamed."""
    digest = hashlib.sha256()
    # One reused buffer: a fresh bytes object per read (8 MiB ones, then) left ~11 MiB of
    # freed-but-kept heap.
    buffer = bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    with path.open("rb") as handle:
        while size := handle.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class LineChunk:
    """Whole lines of a file: ``lines[i]`` is line number ``first_line + i`` (1-based)."""

    first_line: int
    lines: list[bytes]


def iter_line_chunks(
    path: Path, display: str, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[LineChunk]:
    """Line-aligned chunks of a file; a truncated or corrupt compressed stream is an InputError."""
    line_no = 1
    carry = b""
    try:
        with open_binary(path) as handle:
            while True:
                block = handle.read(chunk_bytes)
                if not block:
                    break
                data = carry + block
                cut = data.rfind(b"\n")
                if cut < 0:
                    carry = data
                    continue
                carry = data[cut + 1 :]
                lines = data[:cut].split(b"\n")
                yield LineChunk(line_no, lines)
                line_no += len(lines)
    except (EOFError, OSError, lzma.LZMAError) as exc:
        raise InputError(
            f"{display}:{line_no}: cannot read compressed input past this line ({exc})",
            hint="the file is truncated or corrupt; re-download it or check its checksum",
        ) from exc
    if carry:
        yield LineChunk(line_no, [carry])


def decode_lines(chunk: LineChunk) -> tuple[list[str], list[tuple[int, str]]]:
    """Decode a chunk as UTF-8: (texts, bad) where bad holds (offset in chunk, text with U+FFFD).

    Bad entries keep an empty placeholder in ``texts`` so that offsets stay aligned.

    Fast path: one decode for the whole chunk. Only when that fails is the chunk decoded line by
    line, so that the bad lines can be located and sent to the rejects shard.
    """
    joined = b"\n".join(chunk.lines)
    try:
        text = joined.decode("utf-8")
    except UnicodeDecodeError:
        good: list[str] = []
        bad: list[tuple[int, str]] = []
        for offset, raw in enumerate(chunk.lines):
            try:
                good.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                good.append("")
                bad.append((offset, raw.decode("utf-8", errors="replace")))
        return good, bad
    lines = text.split("\n")
    if len(lines) != len(chunk.lines):
        # \n inside a multi-byte sequence cannot happen in valid UTF-8; keep the invariant loud.
        raise AssertionError("line split mismatch after UTF-8 decode")
    return lines, []
