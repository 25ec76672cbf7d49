"""GopherRepetitionFilter makes datatrove's decisions (same reasons) when the words are the same.

datatrove's filter is run with a whitespace word tokenizer (corpuskit's word definition); its
default spaCy tokenizer splits punctuation off, which is a different definition of a word.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpuskit.document import block_from_columns
from corpuskit.filters import GopherRepetitionFilter
from corpuskit.filters.base import as_string_array

datatrove = pytest.importorskip("datatrove")
from datatrove.data import Document as DTDocument  # noqa: E402
from datatrove.pipeline.filters import GopherRepetitionFilter as DTGopher  # noqa: E402
from datatrove.utils.word_tokenizers import WordTokenizer  # noqa: E402


class WhitespaceTokenizer(WordTokenizer):
    def word_tokenize(self, text: str) -> list[str]:
        return text.split()

    def sent_tokenize(self, text: str) -> list[str]:
        return [text]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(0, len(text))]


REFERENCE = DTGopher(language=WhitespaceTokenizer())


def datatrove_reasons(texts: list[str]) -> list[str | None]:
    out = []
    for i, text in enumerate(texts):
        verdict = REFERENCE.filter(DTDocument(text=text, id=str(i)))
        out.append(None if verdict is True else verdict[1])
    return out


def ours(texts: list[str], step: GopherRepetitionFilter | None = None) -> list[str | None]:
    block = block_from_columns([str(i) for i in range(len(texts))], texts, "s", "{}")
    return as_string_array((step or GopherRepetitionFilter()).drop_reasons_block(block)).to_pylist()


# tiny vocabularies make repeated lines, n-grams and "".join collisions ("ab c" == "a bc") likely
TOKENS = st.sampled_from(["a", "b", "ab", "ba", "c", "abc", "é", "日本", "the", "cat"])
SEPARATORS = st.sampled_from([" ", " ", " ", "  ", "\n", "\n\n", "\t", "\u00a0", " \n "])


@st.composite
def repetitive_texts(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.tuples(TOKENS, SEPARATORS), max_size=60))
    text = "".join(t + s for t, s in parts)
    return draw(st.sampled_from(["", " ", "\n"])) + text


@given(st.lists(repetitive_texts(), min_size=1, max_size=12))
def test_same_decisions_and_reasons_as_datatrove(texts: list[str]) -> None:
    assert ours(texts) == datatrove_reasons(texts)


def test_join_collision_counts_as_a_duplicate() -> None:
    # words differ, but "".join of the 5-grams is the same string: Gopher counts it
    text = "ab c d e f x a bc d e f"
    step = GopherRepetitionFilter(top_n_grams=[], dup_n_grams=[(5, 0.1)])
    assert ours([text], step) == ["duplicated_5_n_grams"]
    assert ours([text], GopherRepetitionFilter(top_n_grams=[], dup_n_grams=[(5, 0.5)])) == [None]


def test_exact_reasons_on_small_examples() -> None:
    natural = (
        "The quick brown fox jumps over the lazy dog while a small bird sings in the old oak "
        "tree and children play happily near the river under a bright summer sky"
    )
    # a short text is dominated by its first 2-gram: Gopher drops it (10 of 15 characters)
    texts = ["", "a\nb\na\nb\na", "x\n\ny\n\nx\n\ny", "one two " * 20, "fine words here", natural]
    assert ours(texts) == [
        "empty",
        "dup_line_frac",
        "dup_para_frac",
        "top_2_gram",
        "top_2_gram",
        None,
    ]
    assert ours(texts) == datatrove_reasons(texts)


def test_same_decisions_on_shared_gutenberg_and_switchboard(data_root: Path) -> None:
    texts = []
    for path in sorted((data_root / "gutenberg").glob("pg1*.txt")):
        texts += [p.strip() for p in re.split(r"\n\s*\n", path.read_text()) if p.strip()][:400]
    with gzip.open(data_root / "switchboard" / "swda_all_dialogues.txt.gz", "rt") as handle:
        utterances = [ln.split("|")[1] for ln in handle if ln.count("|") >= 2][:4000]
    texts += ["\n".join(utterances[i : i + 10]) for i in range(0, len(utterances), 10)]
    expected = datatrove_reasons(texts)
    assert ours(texts) == expected
    assert sum(r is not None for r in expected) > 50  # the data does exercise the filter
