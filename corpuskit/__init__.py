"""corpuskit: data recipes for small language models, built into versioned Arrow shards."""

from __future__ import annotations

__version__ = "0.1.0"

# The public API. Importing these registers every built-in step kind.
from corpuskit.budget import Budget, WordBudget
from corpuskit.build import BuildResult, build
from corpuskit.curriculum import (
    Curriculum,
    MergedCurriculum,
    OrderedCurriculum,
    SequentialCurriculum,
    ShuffleCurriculum,
    Stage,
)
from corpuskit.datacard import write_datacard
from corpuskit.dedup import (
    DecontaminateDedup,
    Dedup,
    EvalSet,
    ExactDedup,
    LineDedup,
    MinHashDedup,
    SentenceDedup,
)
from corpuskit.document import Document
from corpuskit.errors import CorpuskitError, RecipeError
from corpuskit.filters import (
    BlocklistFilter,
    EnglishFilter,
    Filter,
    GopherRepetitionFilter,
    LatinShareFilter,
    Mapper,
    NormalizeWhitespaceMapper,
    RegexFilter,
    SplitSentencesMapper,
    WordCountFilter,
    filter_function,
)
from corpuskit.generators import (
    GenerationCache,
    Generator,
    GrammarBookGenerator,
    GrammarExamplesGenerator,
    LLMGenerator,
    MissingApiKeyError,
    ParaphraseGenerator,
    QAGenerator,
    TemplateGenerator,
)
from corpuskit.recipe import Recipe
from corpuskit.registry import registry
from corpuskit.shards import FORMAT_VERSION, Build, open_build, read_shards, verify
from corpuskit.sources import (
    ArrowSource,
    CsvSource,
    DialogueSource,
    DocumentsSource,
    HFDatasetSource,
    InstructionSource,
    JsonlSource,
    ParaphrasePairsSource,
    ParquetSource,
    QASource,
    Source,
    TextSource,
    TsvSource,
    WiktionarySource,
)
from corpuskit.step import Drop, RunContext
from corpuskit.versioning import diff_builds, list_builds
from corpuskit.words import count_words

__all__ = [
    "FORMAT_VERSION",
    "ArrowSource",
    "BlocklistFilter",
    "Budget",
    "Build",
    "BuildResult",
    "CorpuskitError",
    "CsvSource",
    "Curriculum",
    "DecontaminateDedup",
    "Dedup",
    "DialogueSource",
    "Document",
    "DocumentsSource",
    "Drop",
    "EnglishFilter",
    "EvalSet",
    "ExactDedup",
    "Filter",
    "GenerationCache",
    "Generator",
    "GopherRepetitionFilter",
    "GrammarBookGenerator",
    "GrammarExamplesGenerator",
    "HFDatasetSource",
    "InstructionSource",
    "JsonlSource",
    "LLMGenerator",
    "LatinShareFilter",
    "LineDedup",
    "Mapper",
    "MergedCurriculum",
    "MinHashDedup",
    "MissingApiKeyError",
    "NormalizeWhitespaceMapper",
    "OrderedCurriculum",
    "ParaphraseGenerator",
    "ParaphrasePairsSource",
    "ParquetSource",
    "QAGenerator",
    "QASource",
    "Recipe",
    "RecipeError",
    "RegexFilter",
    "RunContext",
    "SentenceDedup",
    "SequentialCurriculum",
    "ShuffleCurriculum",
    "Source",
    "SplitSentencesMapper",
    "Stage",
    "TemplateGenerator",
    "TextSource",
    "TsvSource",
    "WiktionarySource",
    "WordBudget",
    "WordCountFilter",
    "__version__",
    "build",
    "count_words",
    "diff_builds",
    "filter_function",
    "list_builds",
    "open_build",
    "read_shards",
    "registry",
    "verify",
    "write_datacard",
]
