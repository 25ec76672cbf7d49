"""Arrow-native line splitting: one document per line without a Python object per line.

The hot path of BabyLM-format input. A chunk of bytes that ends at a newline becomes a large-string
array by computing offsets from newline positions with numpy; UTF-8 validity is checked by Arrow
in one pass. Only a chunk that fails validation falls back to the per-line Python decoder, so bad
lines can be located and rejected.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpuskit.errors import InputError
from corpuskit.sources.textio import CHUNK_BYTES, open_binary


def iter_byte_chunks(
    path: Path, display: str, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[tuple[int, bytes | memoryview]]:
    """(first line number, bytes) chunks that end at a newline (the last one may not)."""
    line_no, carry = 1, b""
    try:
        with open_binary(path) as handle:
            while block := handle.read(chunk_bytes):
                data = carry + block if carry else block
                del block  # only one copy of the chunk stays alive while it is processed
                cut = data.rfind(b"\n")
                if cut < 0:
                    carry = data
                    continue
                carry = data[cut + 1 :]
                lines = data.count(b"\n", 0, cut + 1)
                # A view, not a copy: the whole chunk is the one that must fit in memory.
                yield line_no, memoryview(data)[: cut + 1]
                line_no += lines
    except (EOFError, OSError) as exc:
        raise InputError(
            f"{display}:{line_no}: cannot read input past this line ({exc})",
            hint="the file is truncated or corrupt; re-download it or check its checksum",
        ) from exc
    if carry:
        yield line_no, carry


def split_lines(data: bytes | memoryview) -> pa.LargeStringArray | None:
    """One string per line (newline included), or None if the bytes are not valid UTF-8."""
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10) + 1
    if not len(ends) or ends[-1] != len(data):
        ends = np.append(ends, len(data))
    offsets = np.concatenate([[0], ends]).astype(np.int64)
    array = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(data))
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        return None
    return array


def line_documents(
    lines: pa.LargeStringArray, first_line: int, prefix: str, *, strip: bool
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(ids, texts, word counts) of the non-blank lines; ids are ``prefix + line number``."""
    from corpuskit.words import count_words_array

    texts = pc.utf8_trim_whitespace(lines) if strip else pc.utf8_rtrim(lines, characters="\n")
    words = count_words_array(texts)
    keep = pc.greater(words, 0)
    numbers = pa.array(np.arange(first_line, first_line + len(lines), dtype=np.int64))
    ids = pc.binary_join_element_wise(prefix, pc.cast(numbers.filter(keep), pa.string()), "")
    return ids, texts.filter(keep), words.filter(keep)
