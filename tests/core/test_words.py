"""The one word definition: golden cases and the vectorised twin."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpuskit import count_words
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
