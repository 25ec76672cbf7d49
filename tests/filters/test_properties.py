"""Every built-in filter and mapper passes the property checks of corpuskit.testing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from corpuskit import filters as F  # noqa: N812 (short alias for a long table)
from corpuskit.filters.base import Filter, Mapper
from corpuskit.registry import registry
from corpuskit.testing import check_filter, check_mapper

DATA = Path(__file__).resolve().parents[1] / "data" / "filters"
WORDS = str(DATA / "early_words.tsv")
HIGHER, LOWER = "higher_is_stricter", "lower_is_stricter"

FILTERS: list[tuple[Filter, dict[str, Any]]] = [
    (F.WordCountFilter(min_words=3, max_words=40), {"min_words": HIGHER, "max_words": LOWER}),
    (F.CharCountFilter(min_chars=5, max_chars=200), {"min_chars": HIGHER, "max_chars": LOWER}),
    (F.MeanWordLengthFilter(min_mean=3, max_mean=8), {"min_mean": HIGHER, "max_mean": LOWER}),
    (F.LatinShareFilter(), {"min_share": HIGHER}),
    (F.CharRatioFilter(), {"max_symbol_ratio": LOWER, "max_digit_ratio": LOWER}),
    (F.WebArtifactsFilter(), {"max_urls": LOWER, "max_markup": LOWER}),
    (F.EnglishFilter(), {"min_share": HIGHER, "max_foreign_letters": LOWER}),
    (
        F.GopherRepetitionFilter(),
        {"dup_line_frac": LOWER, "dup_para_frac": LOWER, "dup_line_char_frac": LOWER},
    ),
    (F.RegexFilter(pattern=r"\d{3}"), {}),
    (F.RegexFilter(pattern="cat|dog", mode="keep", ignore_case=True), {}),
    (F.BlocklistFilter(words=["the big", "dog"], path=str(DATA / "blocklist.txt")), {}),
    (F.BlocklistFilter(words=["Cat"], case_sensitive=True, whole_word=False), {}),
    (F.VocabularyCoverageFilter(path=WORDS, min_coverage=0.5), {"min_coverage": HIGHER}),
    (F.VocabularyCoverageFilter(path=WORDS, max_value=3, min_coverage=0.3), {"max_value": LOWER}),
    (F.TypeTokenRatioFilter(min_ttr=0.5, min_words=4), {"min_ttr": HIGHER}),
    (F.SpeakerRoleFilter(exclude_roles=["Target_Child"]), {}),
    (F.SpeakerRoleFilter(keep_roles=["Mother", "Father"], keep_unlabelled=True), {}),
    (F.SentenceCountFilter(min_sentences=2, max_sentences=5), {"min_sentences": HIGHER}),
    (F.MaxSentenceLengthFilter(max_words=6), {"max_words": LOWER}),
    (F.HasFiniteVerbFilter(), {}),
    (F.CompleteSentenceFilter(), {}),
    (F.PosPatternFilter(pattern="^(DET )?NOUN"), {}),
]
MAPPERS: list[tuple[Mapper, bool]] = [
    (F.NormalizeWhitespaceMapper(), False),
    (F.NormalizeWhitespaceMapper(keep_newlines=False), False),
    (F.NormalizeUnicodeMapper(form="NFKC"), False),
    (F.StripMarkupMapper(), False),
    (F.SplitSentencesMapper(), True),
]
SLOW_KINDS = {
    "has_finite_verb",
    "complete_sentence",
    "pos_pattern",
    "sentence_count",
    "max_sentence_length",
}


def test_every_builtin_kind_is_checked() -> None:
    builtin = {
        name
        for name, cls in registry("filters").items()
        if cls.__module__.startswith("corpuskit.filters")
    }
    checked = {f.kind for f, _ in FILTERS} | {m.kind for m, _ in MAPPERS}
    assert builtin == checked


@pytest.mark.parametrize(("step", "monotone"), FILTERS, ids=lambda v: getattr(v, "kind", ""))
def test_builtin_filter_passes_check_filter(step: Filter, monotone: dict[str, Any]) -> None:
    # few examples by default (2 shared cores); the slow test below runs the full profile
    examples = 6 if step.kind in SLOW_KINDS else 10
    check_filter(step, monotone=monotone, max_examples=examples)


@pytest.mark.parametrize(("step", "splits"), MAPPERS, ids=lambda v: getattr(v, "kind", ""))
def test_builtin_mapper_passes_check_mapper(step: Mapper, splits: bool) -> None:
    check_mapper(step, splits=splits, max_examples=10)


@pytest.mark.slow
@pytest.mark.parametrize(("step", "monotone"), FILTERS, ids=lambda v: getattr(v, "kind", ""))
def test_builtin_filter_full_profile(step: Filter, monotone: dict[str, Any]) -> None:
    check_filter(step, monotone=monotone)
