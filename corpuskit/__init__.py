"""corpuskit: data recipes for small language models, built into versioned Arrow shards."""

from __future__ import annotations

__version__ = "0.1.0"

from corpuskit.budget import Budget, WordBudget  # noqa: E402
from corpuskit.build import BuildResult, build  # noqa: E402
from corpuskit.curriculum import Curriculum, ShuffleCurriculum  # noqa: E402
from corpuskit.dedup.base import Dedup  # noqa: E402
from corpuskit.document import Document  # noqa: E402
from corpuskit.errors import CorpuskitError, RecipeError  # noqa: E402
from corpuskit.filters import Filter, Mapper, WordCountFilter, filter_function  # noqa: E402
from corpuskit.generators import Generator  # noqa: E402
from corpuskit.recipe import Recipe  # noqa: E402
from corpuskit.registry import registry  # noqa: E402
from corpuskit.shards import FORMAT_VERSION, Build, open_build, read_shards, verify  # noqa: E402
from corpuskit.sources import DocumentsSource, Source, TextSource  # noqa: E402
from corpuskit.step import Drop, RunContext  # noqa: E402
from corpuskit.words import count_words  # noqa: E402

__all__ = [
    "FORMAT_VERSION",
    "Budget",
    "Build",
    "BuildResult",
    "CorpuskitError",
    "Curriculum",
    "Dedup",
    "Document",
    "DocumentsSource",
    "Drop",
    "Filter",
    "Generator",
    "Mapper",
    "Recipe",
    "RecipeError",
    "RunContext",
    "ShuffleCurriculum",
    "Source",
    "TextSource",
    "WordBudget",
    "WordCountFilter",
    "__version__",
    "build",
    "count_words",
    "filter_function",
    "open_build",
    "read_shards",
    "registry",
    "verify",
]
