"""Sources stream: peak memory while reading does not grow with the input's size."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

import corpuskit.sources.emit as emit
import corpuskit.sources.lines as lines
import corpuskit.sources.textio as textio
from corpuskit.sources import DialogueSource, JsonlSource, TextSource
from corpuskit.sources.base import Source
from corpuskit.step import CheckContext, RunContext


def _peak(source: Source) -> int:
    ctx = RunContext(seed=0)
    tracemalloc.start()
    try:
        for key in source.partitions(CheckContext(None)):
            for block in source.read_partition(key, ctx):
                del block
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _jsonl(n: int) -> str:
    return "".join(f'{{"text": "document number {i} with a few words"}}\n' for i in range(n))


def _switchboard(n: int) -> str:
    return "".join(f"{'AB'[i % 2]}|utterance number {i} here|sd\n" for i in range(n))


def _text(n: int) -> str:
    return "".join(f"line number {i} of plain text\n" for i in range(n))


@pytest.mark.parametrize(
    ("make", "content"),
    [
        (lambda p: JsonlSource(paths=[str(p)]), _jsonl),
        (lambda p: DialogueSource(paths=[str(p)], group="turns", turns=7), _switchboard),
        (lambda p: TextSource(paths=[str(p)]), _text),
    ],
    ids=["jsonl", "dialogue", "text"],
)
def test_peak_memory_is_independent_of_input_size(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make: Callable[[Path], Source],
    content: Callable[[int], str],
) -> None:
    # Small blocks and chunks, so that inputs many times larger than one block fit in a fast test.
    monkeypatch.setattr(emit.Emitter.__init__, "__defaults__", (500,))
    monkeypatch.setattr(textio.iter_line_chunks, "__defaults__", (16 << 10,))
    monkeypatch.setattr(lines.iter_byte_chunks, "__defaults__", (16 << 10,))  # unit: line
    monkeypatch.setattr(textio, "CHUNK_BYTES", 16 << 10)  # file_sha256's read size
    small, large = tmp_path / "small.txt", tmp_path / "large.txt"
    small.write_text(content(4_000))
    large.write_text(content(16_000))
    _peak(make(small))  # warm-up: lazy imports must not count against the larger input
    assert _peak(make(large)) < 1.3 * _peak(make(small))
