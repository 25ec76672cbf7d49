"""Gopher-style repetition filter (Rae et al. 2021, table A1), vectorised over Arrow blocks.

The definitions follow datatrove's ``GopherRepetitionFilter`` exactly, so that the two make
identical decisions with the same reasons whenever the words are the same: paragraphs split on
``\\n{2,}`` of the stripped text, lines on ``\\n+``, duplicates counted after their first
occurrence, top n-grams as ``" ".join`` (characters times count), duplicate n-gram characters by
Gopher's greedy scan over ``"".join`` n-grams, every fraction divided by ``len(text)``. Two
deliberate differences: words are corpuskit words (``str.split()``; datatrove's default
tokenizer is spaCy's), and a threshold of 0 is a real (strictest) threshold, not "off" — use
``None`` to turn a check off, which keeps every threshold monotone.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from corpuskit.filters.base import Filter
from corpuskit.filters.ngrams import WordTable, duplicate_ngram_chars, top_ngram_chars
from corpuskit.filters.textops import (
    PY_WHITESPACE,
    as_bool,
    char_lengths,
    split_regex,
    split_words,
    text_column,
)

MAX_N = 10
NgramLimits = list[tuple[int, float]]


def _duplicates(texts: pa.Array, pattern: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per text: pieces, pieces equal to an earlier piece of the same text, their characters."""
    split = split_regex(texts, pattern)
    ids = np.asarray(pc.dictionary_encode(split.flat).indices.to_numpy(), dtype=np.int64)
    vocab = int(ids.max()) + 1 if len(ids) else 1
    keys = split.parents * vocab + ids
    repeat = np.ones(len(keys), dtype=bool)
    repeat[np.unique(keys, return_index=True)[1]] = False  # first occurrences
    lengths = char_lengths(split.flat)
    dup = np.bincount(split.parents[repeat], minlength=len(texts))
    dup_chars = np.bincount(
        split.parents[repeat], weights=lengths[repeat], minlength=len(texts)
    ).astype(np.int64)
    return split.counts, dup, dup_chars


class GopherRepetitionFilter(Filter, kind="gopher_repetition"):
    """Drop documents with repeated lines, paragraphs or n-grams (Gopher rules, datatrove names).

    Checks run in this order; the first that fails names the reason. Drop reasons: ``empty``,
    ``dup_para_frac``, ``dup_para_char_frac``, ``dup_line_frac``, ``dup_line_char_frac``,
    ``top_{n}_gram`` and ``duplicated_{n}_n_grams`` for n in 1..10.
    """

    drop_reasons: ClassVar[tuple[str, ...]] = (
        "empty",
        "dup_para_frac",
        "dup_para_char_frac",
        "dup_line_frac",
        "dup_line_char_frac",
        *(f"top_{n}_gram" for n in range(1, MAX_N + 1)),
        *(f"duplicated_{n}_n_grams" for n in range(1, MAX_N + 1)),
    )

    dup_line_frac: float | None = Field(
        default=0.3, ge=0, description="max share of lines that repeat an earlier line"
    )
    dup_para_frac: float | None = Field(
        default=0.3, ge=0, description="max share of paragraphs that repeat an earlier one"
    )
    dup_line_char_frac: float | None = Field(
        default=0.2, ge=0, description="max share of characters in repeated lines"
    )
    dup_para_char_frac: float | None = Field(
        default=0.2, ge=0, description="max share of characters in repeated paragraphs"
    )
    top_n_grams: NgramLimits = Field(
        default=[(2, 0.2), (3, 0.18), (4, 0.16)],
        description="(n, max share of characters covered by the most frequent n-gram)",
    )
    dup_n_grams: NgramLimits = Field(
        default=[(5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)],
        description="(n, max share of characters in duplicated n-grams)",
    )

    @field_validator("top_n_grams", "dup_n_grams")
    @classmethod
    def _n_in_range(cls, value: NgramLimits) -> NgramLimits:
        for n, frac in value:
            if not 1 <= n <= MAX_N:
                raise ValueError(f"n-gram size {n} is outside 1..{MAX_N}")
            if frac < 0:
                raise ValueError(f"fraction {frac} for {n}-grams is negative")
        return value

    def drop_reasons_block(self, block: pa.Table) -> pa.Array:
        texts = text_column(block)
        rows = block.num_rows
        length = char_lengths(texts)
        reasons = np.full(rows, None, dtype=object)
        reasons[length == 0] = "empty"

        def fail(reason: str, failed: np.ndarray, subset: np.ndarray | None = None) -> None:
            hit = np.zeros(rows, dtype=bool)
            if subset is None:
                hit = failed
            else:
                hit[subset] = failed
            reasons[hit & (reasons == None)] = reason  # noqa: E711 (numpy elementwise)

        # Only texts with a newline can repeat a line or a paragraph.
        multi = np.flatnonzero(as_bool(pc.match_substring(texts, "\n")) & (length > 0))
        if len(multi):
            sub = texts.take(pa.array(multi))
            stripped = pc.utf8_trim(sub, characters=PY_WHITESPACE)
            for unit, sub_texts, pattern in (("para", stripped, "\n{2,}"), ("line", sub, "\n+")):
                count, dup, dup_chars = _duplicates(sub_texts, pattern)
                frac = getattr(self, f"dup_{unit}_frac")
                char_frac = getattr(self, f"dup_{unit}_char_frac")
                if frac is not None:
                    fail(f"dup_{unit}_frac", dup / count > frac, multi)
                if char_frac is not None:
                    fail(f"dup_{unit}_char_frac", dup_chars / length[multi] > char_frac, multi)
        self._ngram_checks(texts, length, reasons, fail)
        return pa.array(reasons, pa.string())

    def _ngram_checks(self, texts: pa.Array, length: np.ndarray, reasons: np.ndarray, fail) -> None:  # type: ignore[no-untyped-def]
        undecided = np.flatnonzero(reasons == None)  # noqa: E711
        if not len(undecided) or not (self.top_n_grams or self.dup_n_grams):
            return
        table = WordTable.from_split(split_words(texts.take(pa.array(undecided))))
        sub_len = length[undecided]
        tuple_fp = table.fingerprints([n for n, _ in self.top_n_grams], joined=False)
        tops: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        narrowed: dict[int, np.ndarray] = {}  # n -> candidate starts for repeated n-grams
        for n, _frac in sorted(self.top_n_grams):
            # a repeated n-gram starts with a repeated (n-1)-gram: search only those
            chars, has, narrowed[n] = top_ngram_chars(table, n, tuple_fp[n], narrowed.get(n - 1))
            tops[n] = (chars, has)
        for n, frac in self.top_n_grams:  # decide in the configured order, as datatrove does
            chars, has = tops[n]
            fail(f"top_{n}_gram", has & (chars / sub_len > frac), undecided)
        joined_fp = table.fingerprints([n for n, _ in self.dup_n_grams], joined=True)
        for n, frac in self.dup_n_grams:
            open_rows = np.flatnonzero(reasons[undecided] == None)  # noqa: E711

            def exceeds(row: int, count: int, frac: float = frac) -> bool:
                return bool(count / sub_len[row] > frac)

            repeated = duplicate_ngram_chars(
                table, n, table.candidates(joined_fp[n], n)[1], open_rows, exceeds
            )
            failed = np.zeros(len(undecided), dtype=bool)
            for row, count in repeated.items():
                failed[row] = count / sub_len[row] > frac
            fail(f"duplicated_{n}_n_grams", failed, undecided)
