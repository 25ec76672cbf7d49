"""Pattern filters: a regular expression to keep or drop, and word/phrase blocklists.

Patterns use RE2 syntax (Arrow's regex engine), so matching is vectorised over the block and runs
in linear time on any input (no catastrophic backtracking). A pattern RE2 cannot compile is
rejected when the recipe is validated.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator, model_validator

from corpuskit.filters.base import Filter
from corpuskit.filters.textops import as_bool, reasons_from_masks, text_column
from corpuskit.filters.wordlists import FileFilter, load_word_list
from corpuskit.words import WORD_PATTERN

WHITESPACE = "[" + WORD_PATTERN[2:-1]  # Python's whitespace class, spelled for RE2
NON_WORD = r"[^\pL\pN\pM_]"


def check_re2(pattern: str) -> str:
    """``pattern`` if RE2 compiles it, else ValueError with RE2's message."""
    try:
        pc.match_substring_regex(pa.array([""]), pattern=pattern)
    except pa.ArrowInvalid as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    return pattern


class RegexFilter(Filter, kind="regex"):
    """Drop documents that match a regular expression (``mode: drop``) or that do not (``keep``).

    Drop reasons: ``matches_pattern`` (mode drop), ``lacks_pattern`` (mode keep).
    """

    drop_reasons = ("matches_pattern", "lacks_pattern")

    pattern: str = Field(description="regular expression (RE2 syntax) searched in the text")
    mode: Literal["drop", "keep"] = Field(
        default="drop", description="drop matching documents, or keep only matching ones"
    )
    ignore_case: bool = Field(default=False, description="match case-insensitively")

    @field_validator("pattern")
    @classmethod
    def _valid(cls, value: str) -> str:
        return check_re2(value)

    def drop_reasons_block(self, block: pa.Table) -> pa.Array:
        found = as_bool(
            pc.match_substring_regex(
                text_column(block), pattern=self.pattern, ignore_case=self.ignore_case
            )
        )
        if self.mode == "drop":
            return reasons_from_masks(block.num_rows, [("matches_pattern", found)])
        return reasons_from_masks(block.num_rows, [("lacks_pattern", ~found)])


class BlocklistFilter(FileFilter, kind="blocklist"):
    """Drop documents that contain blocklisted words or phrases.

    ``whole_word`` matches only at word boundaries (letters, digits, marks and ``_`` are word
    characters), and spaces inside a phrase match any run of whitespace.
    Drop reasons: ``blocklisted``.
    """

    drop_reasons = ("blocklisted",)

    words: list[str] = Field(default=[], description="words or phrases to block")
    path: str | None = Field(
        default=None, description="file with one word or phrase per line (# comments)"
    )
    case_sensitive: bool = Field(default=False, description="match case exactly")
    whole_word: bool = Field(default=True, description="match whole words only")

    @model_validator(mode="after")
    def _has_entries(self) -> BlocklistFilter:
        if not self.words and self.path is None:
            raise ValueError("give words, a path, or both")
        if any(not w.strip() for w in self.words):
            raise ValueError("blocklist entries must not be empty or blank")
        return self

    def word_list_path(self) -> str | None:
        return self.path

    def entries(self) -> list[str]:
        """Every entry (inline words, then the file's), sorted and deduplicated."""
        entries = set(self.words)
        if self.path is not None:
            entries |= load_word_list(self.path, lower=False)
        return sorted(e.strip() for e in entries if e.strip())

    def regex(self) -> str:
        """The RE2 pattern matching any entry (longest first, so phrases win over prefixes)."""
        parts = sorted(self.entries(), key=lambda e: (-len(e), e))
        alternation = "|".join(_phrase(e) for e in parts)
        flags = "" if self.case_sensitive else "(?i)"
        if not self.whole_word:
            return f"{flags}(?:{alternation})"
        # RE2 has no look-around: a boundary is an edge of the text or a non-word character
        return f"{flags}(?:^|{NON_WORD})(?:{alternation})(?:$|{NON_WORD})"

    def drop_reasons_block(self, block: pa.Table) -> pa.Array:
        found = as_bool(pc.match_substring_regex(text_column(block), pattern=self.regex()))
        return reasons_from_masks(block.num_rows, [("blocklisted", found)])


def _phrase(entry: str) -> str:
    """RE2 for one entry: its words escaped, any whitespace run between them."""
    return (WHITESPACE + "+").join(_re2_escape(w) for w in entry.split())


def _re2_escape(text: str) -> str:
    """Escape ASCII punctuation for RE2 (non-ASCII characters are literal there)."""
    return "".join("\\" + ch if ord(ch) < 128 and not ch.isalnum() else ch for ch in text)
