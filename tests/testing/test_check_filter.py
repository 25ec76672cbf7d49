"""check_filter catches deliberately wrong filters with readable messages, and passes good ones."""

from __future__ import annotations

from typing import ClassVar

import pytest
from hypothesis import strategies as st

from corpuskit.document import Document
from corpuskit.filters import Filter, WordCountFilter, filter_function
from corpuskit.step import Drop
from corpuskit.testing import FilterCheckError, check_filter, documents, english_text


class MutatingFilter(Filter, kind="test_mutating"):
    """Wrong: lower-cases the text it is judging."""

    drop_reasons: ClassVar[tuple[str, ...]] = ("too_short",)

    def keep(self, doc: Document) -> bool | Drop:
        object.__setattr__(doc, "text", doc.text.lower())
        return True


class RaisesOnEmptyFilter(Filter, kind="test_raises_on_empty"):
    """Wrong: indexes the first word without checking there is one."""

    drop_reasons: ClassVar[tuple[str, ...]] = ("starts_lowercase",)

    def keep(self, doc: Document) -> bool | Drop:
        return Drop("starts_lowercase") if doc.text.split()[0].islower() else True


class UndeclaredReasonFilter(Filter, kind="test_undeclared"):
    """Wrong: drops with a reason it does not declare."""

    drop_reasons: ClassVar[tuple[str, ...]] = ("too_short",)

    def keep(self, doc: Document) -> bool | Drop:
        return Drop("tiny") if len(doc.text) < 5 else True


class MetaMutatingFilter(Filter, kind="test_meta_mutating"):
    """Wrong: writes into the document's meta."""

    def keep(self, doc: Document) -> bool | Drop:
        doc.meta["seen"] = True  # type: ignore[index]
        return True


class InvertedThresholdFilter(Filter, kind="test_inverted"):
    """Wrong direction: keeps documents *shorter* than min_words."""

    drop_reasons: ClassVar[tuple[str, ...]] = ("too_short",)
    min_words: int = 3

    def keep(self, doc: Document) -> bool | Drop:
        return Drop("too_short") if doc.words >= self.min_words else True


class RewritingProcessFilter(WordCountFilter, kind="test_rewrites"):
    """Wrong: its process() upper-cases what it keeps (a filter must only remove)."""

    def process(self, block, ctx, label):  # type: ignore[no-untyped-def]
        import pyarrow.compute as pc

        out = super().process(block, ctx, label)
        return out.set_column(1, "text", pc.utf8_upper(out["text"]))


def _failure(step: Filter, **kwargs: object) -> str:
    with pytest.raises(FilterCheckError) as info:
        check_filter(step, max_examples=40, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


def test_mutating_text_is_caught_as_impure() -> None:
    message = _failure(MutatingFilter())
    assert "failed property 'pure'" in message
    assert "judging changed the document" in message
    assert "smallest failing batch" in message


def test_raising_on_empty_text_is_caught_with_the_exception() -> None:
    message = _failure(RaisesOnEmptyFilter())
    assert "failed property 'never_raises'" in message
    assert "IndexError" in message
    # hypothesis shrinks to a document without words
    assert "text=''" in message or "text=' '" in message or "text='\\n'" in message


def test_undeclared_reason_is_caught_and_named() -> None:
    message = _failure(UndeclaredReasonFilter())
    assert "failed property 'declared_reasons'" in message
    assert "'tiny'" in message and "('too_short',)" in message


def test_meta_mutation_is_caught() -> None:
    assert "failed property 'pure'" in _failure(MetaMutatingFilter())


def test_wrong_monotone_direction_is_caught() -> None:
    message = _failure(InvertedThresholdFilter(), monotone={"min_words": "higher_is_stricter"})
    assert "failed property 'monotone[min_words]'" in message
    assert "keeps a document that the looser" in message


def test_process_that_rewrites_is_caught_as_not_only_removing() -> None:
    message = _failure(RewritingProcessFilter(min_words=1), docs=documents(text=english_text()))
    assert "failed property 'only_removes'" in message


def test_a_correct_filter_passes_and_reports_what_ran() -> None:
    report = check_filter(
        WordCountFilter(min_words=3, max_words=30),
        monotone={"min_words": "higher_is_stricter", "max_words": "lower_is_stricter"},
        max_examples=30,
    )
    assert report.properties == [
        "never_raises",
        "declared_reasons",
        "deterministic",
        "pure",
        "consistent",
        "order_independent",
        "only_removes",
        "monotone[min_words]",
        "monotone[max_words]",
    ]


def test_function_filters_are_checked_too() -> None:
    @filter_function("test_has_question", reasons=["no_question"])
    def has_question(doc: Document, required: bool = True) -> bool | Drop:
        return True if ("?" in doc.text or not required) else Drop("no_question")

    check_filter(has_question(), max_examples=30)


def test_unknown_monotone_parameter_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no parameter 'min_wrods'"):
        check_filter(WordCountFilter(), monotone={"min_wrods": "higher_is_stricter"})


def test_custom_document_strategy_is_used() -> None:
    # every document has exactly two words, so min_words=3 must drop all of them
    two_words = st.sampled_from(["a b", "hello there", "x y"])
    check_filter(WordCountFilter(min_words=3), docs=documents(text=two_words), max_examples=10)
