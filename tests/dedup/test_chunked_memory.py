"""The rewriting dedup steps never hold the whole build's text as Python strings.

tracemalloc counts Python objects and numpy arrays (not Arrow buffers): a step that turned the
text column into Python strings (as these steps did before they worked chunk by chunk: 4.5x the
text's bytes on this input) exceeds the bound; a chunked one keeps one chunk's strings plus its
per-segment numpy arrays (0.65x here).
"""

from __future__ import annotations

import random
import tracemalloc

import pyarrow as pa
import pytest

import corpuskit.dedup.rewrite as rewrite_module
from corpuskit.dedup import LineDedup, SentenceDedup
from corpuskit.dedup.base import Dedup
from corpuskit.document import Document, docs_to_block
from corpuskit.step import RunContext


def corpus(separator: str, docs: int = 10_000) -> pa.Table:
    """``docs`` documents of 3 sentences (30 words each) drawn from a pool of 1,500: many repeats."""
    rng = random.Random(0)
    words = [f"w{i}" for i in range(3000)]
    pool = [" ".join(rng.choice(words) for _ in range(30)).capitalize() + "." for _ in range(1500)]
    return docs_to_block(
        Document(f"d{i:06d}", separator.join(rng.choice(pool) for _ in range(3)), "s", {})
        for i in range(docs)
    )


@pytest.mark.parametrize(("step", "separator"), [(SentenceDedup(), " "), (LineDedup(), "\n")])
def test_python_memory_stays_below_the_text_size(
    step: Dedup, separator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = corpus(separator)
    text_bytes = table["text"].nbytes
    monkeypatch.setattr(rewrite_module, "CHUNK_ROWS", 1000)
    tracemalloc.start()
    try:
        out = step.apply(table, RunContext(seed=1), "dedup")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.num_rows < table.num_rows  # the input has repeats to remove
    assert peak < 0.8 * text_bytes, f"peak {peak / 2**20:.1f} MiB, text {text_bytes / 2**20:.1f}"
