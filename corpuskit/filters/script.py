"""Script and character-class filters: Latin share, symbol/digit/punctuation ratios, web artifacts.

All are vectorised with RE2 Unicode classes over the Arrow text column (``\\p{Latin}``,
``\\p{L}``, ``\\p{S}``, ``\\p{Nd}``, ``\\p{P}``), so ``keep`` and the block path share one
definition.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pydantic import Field

from corpuskit.filters.base import Filter
from corpuskit.filters.textops import (
    WHITESPACE_CLASS,
    char_lengths,
    count_regex,
    ratio,
    reasons_from_masks,
    text_column,
)
from corpuskit.words import WORD_PATTERN

URL_PATTERN = r"(?i)(?:\b(?:https?|ftp)://|\bwww\.)" + WORD_PATTERN
EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
ENTITY_PATTERN = r"&(?:[A-Za-z]{2,8}|#[0-9]{1,6}|#x[0-9A-Fa-f]{1,6});"
# HTML/XML tags and entities, wiki links/templates, Markdown links and headings
MARKUP_PATTERN = (
    r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>|"
    + ENTITY_PATTERN
    + r"|\[\[|\]\]|\{\{|\}\}|\]\(|(?m:^#{1,6} )"
)


class LatinShareFilter(Filter, kind="latin_share"):
    """Keep documents in which at least ``min_share`` of the letters are Latin-script.

    Documents without letters are kept (they have no script to judge).
    Drop reasons: ``non_latin``.
    """

    drop_reasons = ("non_latin",)

    min_share: float = Field(
        default=0.9, ge=0, le=1, description="minimum share of letters that are Latin-script"
    )

    def drop_reasons_block(self, block: pa.Table) -> pa.Array:
        texts = text_column(block)
        letters = count_regex(texts, r"\p{L}")
        latin = count_regex(texts, r"\p{Latin}")
        share = ratio(latin, letters)
        return reasons_from_masks(
            block.num_rows, [("non_latin", (letters > 0) & (share < self.min_share))]
        )


class CharRatioFilter(Filter, kind="char_ratio"):
    """Limit the share of symbols, digits and punctuation among non-whitespace characters.

    Symbols are Unicode category S*, digits Nd, punctuation P*. An unset limit is not checked.
    Drop reasons: ``too_many_symbols``, ``too_many_digits``, ``too_much_punctuation``.
    """

    drop_reasons = ("too_many_symbols", "too_many_digits", "too_much_punctuation")

    max_symbol_ratio: float | None = Field(
        default=0.1, ge=0, le=1, description="maximum share of symbol characters (S*)"
    )
    max_digit_ratio: float | None = Field(
        default=0.2, ge=0, le=1, description="maximum share of decimal digits (Nd)"
    )
    max_punct_ratio: float | None = Field(
        default=0.3, ge=0, le=1, description="maximum share of punctuation characters (P*)"
    )

    def drop_reasons_block(self, block: pa.Table) -> pa.Array:
        texts = text_column(block)
        visible = char_lengths(texts) - count_regex(texts, WHITESPACE_CLASS)
        checks = []
        for reason, pattern, limit in (
            ("too_many_symbols", r"\p{S}", self.max_symbol_ratio),
            ("too_many_digits", r"\p{Nd}", self.max_digit_ratio),
            ("too_much_punctuation", r"\p{P}", self.max_punct_ratio),
        ):
            if limit is not None:
                checks.append((reason, ratio(count_regex(texts, pattern), visible) > limit))
        return reasons_from_masks(block.num_rows, checks)


class WebArtifactsFilter(Filter, kind="web_artifacts"):
    """Drop documents with more URLs, e-mail addresses or markup than allowed.

    Markup is HTML/XML tags and entities, wiki ``[[links]]``/``{{templates}}``, Markdown links
    and ``#`` headings. An unset limit is not checked.
    Drop reasons: ``contains_url``, ``contains_email``, ``contains_markup``.
    """

    drop_reasons = ("contains_url", "contains_email", "contains_markup")

    max_urls: int | None = Field(default=0, ge=0, description="most URLs a document may hold")
    max_emails: int | None = Field(
        default=0, ge=0, description="most e-mail addresses a document may hold"
    )
    max_markup: int | None = Field(
        default=0, ge=0, description="most markup items (tags, entities, wiki/Markdown syntax)"
    )

    def drop_reasons_block(self, block: pa.Table) -> pa.Array:
        texts = text_column(block)
        checks: list[tuple[str, np.ndarray]] = []
        for reason, pattern, limit in (
            ("contains_url", URL_PATTERN, self.max_urls),
            ("contains_email", EMAIL_PATTERN, self.max_emails),
            ("contains_markup", MARKUP_PATTERN, self.max_markup),
        ):
            if limit is not None:
                checks.append((reason, count_regex(texts, pattern) > limit))
        return reasons_from_masks(block.num_rows, checks)
