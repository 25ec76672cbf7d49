"""The one word definition: golden cases and the vectorised twin."""

from __future__ import annotations

import sys

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpuskit import count_words, words
from corpuskit.words import count_words_array, sum_words

GOLDEN = [
    ("", 0),
    ("   ", 0),
    ("hello", 1),
    ("hello world", 2),
    ("  leading and trailing  ", 3),
    ("tabs\tand\nnewlines\r\nmix", 4),
    ("A:\tuh-huh.", 2),  # BabyLM Switchboard rendering: the speaker tag is a word
    ("don't stop-believing", 2),  # punctuation never splits
    ("non\u00a0breaking", 2),  # NBSP is whitespace for str.split
    ("ideographic\u3000space", 2),
    ("zero\u200bwidth", 1),  # ZERO WIDTH SPACE is not whitespace
    ("file\x1cseparator", 2),
    ("日本語のテキスト", 1),  # unsegmented scripts count as one token per run
    ("emoji 🙂 counts", 3),
]


@pytest.mark.parametrize(("text", "expected"), GOLDEN)
def test_golden_word_counts(text: str, expected: int) -> None:
    assert count_words(text) == expected


def test_vectorised_matches_golden() -> None:
    texts = [t for t, _ in GOLDEN]
    assert count_words_array(pa.array(texts, pa.large_string())).to_pylist() == [
        n for _, n in GOLDEN
    ]
    assert sum_words(pa.array(texts)) == sum(n for _, n in GOLDEN)


@given(st.lists(st.text(), max_size=20))
def test_vectorised_equals_python_on_any_unicode(texts: list[str]) -> None:
    assert count_words_array(pa.array(texts, pa.large_string())).to_pylist() == [
        count_words(t) for t in texts
    ]


@given(st.text(), st.text())
def test_count_is_additive_over_space_join(a: str, b: str) -> None:
    assert count_words(" ".join([a, b])) == count_words(a) + count_words(b)


WHITESPACE = [chr(c) for c in range(0x3001) if chr(c).isspace()]
tricky = st.text(alphabet=st.sampled_from([*WHITESPACE, "a", "é", "日", "Å", "\u2019", "🙂"]))


@given(st.lists(st.one_of(st.none(), tricky), max_size=30), st.integers(0, 5), st.integers(0, 5))
def test_vectorised_handles_every_whitespace_nulls_slices_and_chunks(
    texts: list[str | None], start: int, stop: int
) -> None:
    expected = [count_words(t) if t is not None else 0 for t in texts]
    for kind in (pa.string(), pa.large_string()):
        arr = pa.array(texts, kind)
        assert count_words_array(arr).to_pylist() == expected
        sliced = arr.slice(start, max(len(texts) - start - stop, 0))
        assert count_words_array(sliced).to_pylist() == expected[start : start + len(sliced)]
        chunked = pa.chunked_array([arr, sliced], kind)
        assert (
            count_words_array(chunked).to_pylist()
            == expected + expected[start : start + len(sliced)]
        )


def test_whitespace_table_is_this_pythons_isspace() -> None:
    expected = tuple(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    assert expected == words.WHITESPACE


@given(st.lists(st.one_of(st.none(), tricky), max_size=30), st.integers(1, 24))
def test_vectorised_counts_do_not_depend_on_the_span_of_a_numpy_pass(
    texts: list[str | None], span: int
) -> None:
    from corpuskit import words

    expected = [count_words(t) if t is not None else 0 for t in texts]
    original = words.SPAN_BYTES
    words.SPAN_BYTES = span  # passes of a few bytes: rows straddle and exceed pass boundaries
    try:
        assert count_words_array(pa.array(texts, pa.large_string())).to_pylist() == expected
    finally:
        words.SPAN_BYTES = original
