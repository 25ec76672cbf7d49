"""A light, offline English check: function-word profiles plus a character profile.

No model is downloaded. Each word (lower-cased, with leading/trailing non-letters removed) is
looked up in short function-word lists for English and six other European languages
(``data/function_words.txt``). A document is English when English function words are at least
``min_share`` of its words and no other language's list matches more words. A second, character
check catches non-Latin or diacritic-heavy text with few recognised words.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from corpuskit.filters.base import Filter
from corpuskit.filters.textops import (
    count_regex,
    is_in,
    ratio,
    reasons_from_masks,
    segment_sum,
    split_words,
    text_column,
)


@cache
def function_words() -> dict[str, frozenset[str]]:
    """Language code -> its function words, from the packaged list."""
    text = resources.files("corpuskit.filters").joinpath("data/function_words.txt").read_text()
    out: dict[str, set[str]] = {}
    lang = ""
    for line in text.splitlines():
        header = re.match(r"#\s*lang:\s*(\w+)", line)
        if header:
            lang = header.group(1)
            out[lang] = set()
        elif line.strip() and not line.startswith("#"):
            out[lang].update(line.split())
    return {k: frozenset(v) for k, v in out.items()}


def normalised_words(texts: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Lower-cased words with leading/trailing non-letters removed, and per-row offsets."""
    split = split_words(texts)
    bare = pc.replace_substring_regex(pc.utf8_lower(split.flat), r"^\PL+|\PL+$", "")
    return bare, split.offsets


class EnglishFilter(Filter, kind="english"):
    """Keep English documents (light offline detection by function words and characters).

    Documents with fewer than ``min_words`` words are kept: too short to judge.
    Drop reasons: ``non_english``.
    """

    drop_reasons = ("non_english",)

    min_share: float = Field(
        default=0.15,
        ge=0,
        le=1,
        description="minimum share of words that are English function words",
    )
    min_words: int = Field(
        default=5, ge=0, description="documents with fewer words are kept unjudged"
    )
    max_foreign_letters: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="maximum share of letters outside a-z/A-Z (accented or non-Latin)",
    )

    def drop_reasons_block(self, block: pa.Table) -> pa.Array:
        texts = text_column(block)
        bare, offsets = normalised_words(texts)
        n_words = np.diff(offsets)
        lists = function_words()
        hits = {lang: segment_sum(is_in(bare, words), offsets) for lang, words in lists.items()}
        english = hits.pop("en")
        other = np.max(np.stack(list(hits.values())), axis=0) if hits else np.zeros_like(english)
        letters = count_regex(texts, r"\pL")
        foreign = ratio(letters - count_regex(texts, "[A-Za-z]"), letters)
        judged = n_words >= self.min_words
        not_english = (ratio(english, n_words) < self.min_share) | (other > english)
        not_english |= foreign > self.max_foreign_letters
        return reasons_from_masks(block.num_rows, [("non_english", judged & not_english)])
