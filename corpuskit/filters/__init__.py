"""Filters and mappers (family ``filters``): every built-in kind is registered on import."""

from corpuskit.filters.base import BlockStep, Filter, Mapper, filter_function
from corpuskit.filters.developmental import (
    SpeakerRoleFilter,
    TypeTokenRatioFilter,
    VocabularyCoverageFilter,
)
from corpuskit.filters.language import EnglishFilter
from corpuskit.filters.length import CharCountFilter, MeanWordLengthFilter, WordCountFilter
from corpuskit.filters.linguistic import (
    CompleteSentenceFilter,
    HasFiniteVerbFilter,
    PosPatternFilter,
    SpacyFilter,
)
from corpuskit.filters.mappers import (
    NormalizeUnicodeMapper,
    NormalizeWhitespaceMapper,
    SplitSentencesMapper,
    StripMarkupMapper,
)
from corpuskit.filters.patterns import BlocklistFilter, RegexFilter
from corpuskit.filters.repetition import GopherRepetitionFilter
from corpuskit.filters.script import CharRatioFilter, LatinShareFilter, WebArtifactsFilter
from corpuskit.filters.sentences import (
    MaxSentenceLengthFilter,
    SentenceCountFilter,
    split_sentences,
)

__all__ = [
    "BlockStep",
    "BlocklistFilter",
    "CharCountFilter",
    "CharRatioFilter",
    "CompleteSentenceFilter",
    "EnglishFilter",
    "Filter",
    "GopherRepetitionFilter",
    "HasFiniteVerbFilter",
    "LatinShareFilter",
    "Mapper",
    "MaxSentenceLengthFilter",
    "MeanWordLengthFilter",
    "NormalizeUnicodeMapper",
    "NormalizeWhitespaceMapper",
    "PosPatternFilter",
    "RegexFilter",
    "SentenceCountFilter",
    "SpacyFilter",
    "SpeakerRoleFilter",
    "SplitSentencesMapper",
    "StripMarkupMapper",
    "TypeTokenRatioFilter",
    "VocabularyCoverageFilter",
    "WebArtifactsFilter",
    "WordCountFilter",
    "filter_function",
    "split_sentences",
]
