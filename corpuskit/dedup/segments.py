"""Lines and sentences of a document, as spans that can be removed without touching words.

Segments are cut only at whitespace, and each span is trimmed of surrounding whitespace. So the
words of a document are exactly the words of its segments, and removing segments removes exactly
their words (the BabyLM word count of the rest plus the removed parts equals the original).
"""

from __future__ import annotations

import re
from typing import Literal

Unit = Literal["line", "sentence"]

# A sentence ends at terminal punctuation (and any closing quotes or brackets) before whitespace,
# or at a line break. Abbreviations ("Mr. Darcy") split too: a deliberate, predictable rule.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|\n")
_LINE_END = re.compile(r"\n")


def segment_spans(text: str, unit: Unit) -> list[tuple[int, int]]:
    """(start, end) of every non-blank line or sentence of ``text``, trimmed of whitespace."""
    pattern = _LINE_END if unit == "line" else _SENTENCE_END
    spans: list[tuple[int, int]] = []
    start = 0
    for match in pattern.finditer(text):
        _add_trimmed(text, start, match.end(), spans)
        start = match.end()
    _add_trimmed(text, start, len(text), spans)
    return spans


def _add_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        spans.append((start + lead, start + lead + len(stripped)))


def split_segments(text: str, unit: Unit) -> list[str]:
    """The lines or sentences of ``text`` (trimmed, non-blank)."""
    return [text[s:e] for s, e in segment_spans(text, unit)]


def remove_spans(text: str, spans: list[tuple[int, int]], drop: list[bool]) -> tuple[str, str]:
    """(kept text, removed text): kept segments keep the whitespace that followed them.

    The removed segments are joined by newlines, so both parts count words exactly.
    """
    kept: list[str] = []
    removed: list[str] = []
    for i, (start, end) in enumerate(spans):
        if drop[i]:
            removed.append(text[start:end])
            continue
        following = spans[i + 1][0] if i + 1 < len(spans) else end
        kept.append(text[start:following])
    return "".join(kept).rstrip(), "\n".join(removed)
