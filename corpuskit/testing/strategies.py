"""Hypothesis strategies for corpuskit documents: the inputs filters must survive.

Use them in your own property tests (``@given(documents())``) or let ``check_filter`` draw from
them. Every strategy is deterministic under a derandomised hypothesis profile.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from corpuskit.document import Document

# A small English-like lexicon: enough for grammatical-looking sentences, repetition, stopwords.
DETERMINERS = ["the", "a", "this", "that", "my", "your", "every", "some"]
NOUNS = ["cat", "dog", "child", "ball", "tree", "house", "mother", "father", "book", "bird"]
VERBS = ["sees", "likes", "finds", "takes", "wants", "holds", "makes", "reads"]
INTRANSITIVE = ["runs", "sleeps", "jumps", "laughs", "sings", "waits"]
ADJECTIVES = ["big", "small", "red", "happy", "old", "new", "quiet", "funny"]
ADVERBS = ["quickly", "slowly", "today", "again", "outside", "now"]
SPEAKERS = [("CHI", "Target_Child"), ("MOT", "Mother"), ("FAT", "Father"), ("A", ""), ("B", "")]
SYNONYMS = {"big": "large", "small": "little", "happy": "glad", "quickly": "fast"}


def unicode_text(max_size: int = 200) -> st.SearchStrategy[str]:
    """Arbitrary Unicode text (any code point but surrogates), biased towards whitespace edges."""
    edge = st.sampled_from(["", " ", "\n", "\n\n", "\t", "\u00a0", "\u2028", "\x1c", "\r\n"])
    body = st.text(st.characters(exclude_categories=["Cs"]), max_size=max_size)
    return st.builds(lambda a, b, c: a + b + c, edge, body, edge)


@st.composite
def _noun_phrase(draw: st.DrawFn) -> str:
    adjective = draw(st.sampled_from(["", *ADJECTIVES]))
    words = [draw(st.sampled_from(DETERMINERS)), adjective, draw(st.sampled_from(NOUNS))]
    return " ".join(w for w in words if w)


@st.composite
def english_sentences(draw: st.DrawFn) -> str:
    """One English-like sentence: ``The big dog sees a ball quickly.`` (capitalised, punctuated)."""
    subject = draw(_noun_phrase())
    if draw(st.booleans()):
        predicate = f"{draw(st.sampled_from(VERBS))} {draw(_noun_phrase())}"
    else:
        predicate = draw(st.sampled_from(INTRANSITIVE))
    adverb = draw(st.sampled_from(["", *ADVERBS]))
    end = draw(st.sampled_from([".", ".", "!", "?"]))
    sentence = " ".join(p for p in (subject, predicate, adverb) if p) + end
    return sentence[0].upper() + sentence[1:]


def english_text(max_sentences: int = 8) -> st.SearchStrategy[str]:
    """Several English-like sentences, on one line or several (lines and paragraphs repeat)."""
    joiner = st.sampled_from([" ", "\n", "\n\n"])
    return st.builds(
        lambda sentences, sep: sep.join(sentences),
        st.lists(english_sentences(), min_size=1, max_size=max_sentences),
        joiner,
    )


def metas() -> st.SearchStrategy[dict[str, Any]]:
    """JSON-able meta dicts (provenance-like keys plus arbitrary ones)."""
    scalar = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.text(max_size=12))
    return st.dictionaries(
        st.sampled_from(["license", "file", "line", "lang", "speaker", "role", "x"]),
        scalar,
        max_size=4,
    )


@st.composite
def documents(
    draw: st.DrawFn,
    text: st.SearchStrategy[str] | None = None,
    sources: tuple[str, ...] = ("src", "other"),
) -> Document:
    """Documents with an id, a source, meta, and text (unicode or English-like by default)."""
    body = draw(text if text is not None else st.one_of(unicode_text(), english_text()))
    doc_id = f"doc-{draw(st.integers(0, 10**9))}"
    return Document(doc_id, body, draw(st.sampled_from(sources)), draw(metas()))


@st.composite
def dialogue_documents(draw: st.DrawFn, max_turns: int = 6) -> Document:
    """Dialogue documents as the ``dialogue`` source makes them: one utterance or a few turns."""
    turns = draw(
        st.lists(
            st.tuples(st.sampled_from(SPEAKERS), english_sentences()),
            min_size=1,
            max_size=max_turns,
        )
    )
    if len(turns) == 1:
        (code, role), utterance = turns[0]
        meta: dict[str, Any] = {"speaker": code, "format": "chat"}
        if role:
            meta["role"] = role
        text = f"*{code}:\t{utterance}"
    else:
        meta = {"speakers": {code: role for (code, role), _ in turns}, "turns": len(turns)}
        text = "\n".join(f"*{code}:\t{utterance}" for (code, _), utterance in turns)
    return Document(f"dlg-{draw(st.integers(0, 10**9))}", text, "dialogue", meta)


@st.composite
def paraphrase_pairs(draw: st.DrawFn) -> tuple[str, str]:
    """(sentence, paraphrase): the second swaps synonyms or reorders clauses of the first."""
    first = draw(english_sentences())
    second = " ".join(SYNONYMS.get(w, w) for w in first.split())
    if second == first:
        clause = draw(english_sentences())
        first, second = f"{first[:-1]} and {clause[0].lower()}{clause[1:]}", f"{clause} {first}"
    return first, second


def any_documents() -> st.SearchStrategy[Document]:
    """The default mix for property checks: unicode, English-like and dialogue documents."""
    return st.one_of(documents(), dialogue_documents())
