"""The text source: compression, units, decode errors, truncated inputs."""

from __future__ import annotations

import bz2
import gzip
import lzma
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from corpuskit.errors import InputError
from corpuskit.sources import TextSource
from tests.sources.helpers import Read

BODY = b"first line here\n\nsecond line\nthird line of text\n\n\nlast para one\nlast para two\n"
COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "": lambda b: b,
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
    ".zst": lambda b: zstandard.ZstdCompressor().compress(b),
}


@pytest.mark.parametrize("suffix", list(COMPRESSORS))
def test_compressed_files_read_like_plain_ones(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"c.txt{suffix}"
    path.write_bytes(COMPRESSORS[suffix](BODY))
    read = Read(TextSource(paths=[str(path)], name="t"))
    assert read.texts == [
        "first line here",
        "second line",
        "third line of text",
        "last para one",
        "last para two",
    ]
    assert [i.rsplit(":", 1)[1] for i in read.ids] == ["1", "3", "4", "7", "8"]


def test_paragraph_unit_joins_lines_and_keeps_first_line_ids(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_bytes(BODY)
    read = Read(TextSource(paths=[str(path)], unit="paragraph", name="t"))
    assert read.texts == [
        "first line here",
        "second line\nthird line of text",
        "last para one\nlast para two",
    ]
    assert read.ids == [f"t:{path.resolve().as_posix()}:{n}" for n in (1, 3, 7)]


def test_invalid_utf8_lines_are_located_decode_error_rejects(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"good one\nbad \xff\xfe here\ngood two\n")
    read = Read(TextSource(paths=[str(path)], name="t"))
    assert read.texts == ["good one", "good two"]
    assert read.reasons == {"decode_error": 1}
    assert read.rejects[0]["id"].endswith(":2")


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz", ".zst"])
def test_truncated_compressed_file_is_a_located_input_error(tmp_path: Path, suffix: str) -> None:
    data = COMPRESSORS[suffix](b"some words on a line\n" * 5000)
    path = tmp_path / f"cut.txt{suffix}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.txt" + suffix.replace(".", r"\.") + r":1: cannot"):
        Read(TextSource(paths=[str(path)]))


def test_concatenated_zstd_frames_are_all_read(tmp_path: Path) -> None:
    frame = zstandard.ZstdCompressor().compress(b"a b\n")
    path = tmp_path / "two.txt.zst"
    path.write_bytes(frame + frame)
    assert Read(TextSource(paths=[str(path)])).texts == ["a b", "a b"]
