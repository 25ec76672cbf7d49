"""corpuskit: data recipes for small language models, built into versioned Arrow shards."""

from __future__ import annotations

__version__ = "0.1.0"

from corpuskit.budget import Budget, WordBudget
from corpuskit.build import BuildResult, build
from corpuskit.curriculum import Curriculum, ShuffleCurriculum
from corpuskit.dedup.base import Dedup
from corpuskit.document import Document
from corpuskit.errors import CorpuskitError, RecipeError
from corpuskit.filters import Filter, Mapper, WordCountFilter, filter_function
from corpuskit.generators import Generator
from corpuskit.recipe import Recipe
from corpuskit.registry import registry
from corpuskit.shards import FORMAT_VERSION, Build, open_build, read_shards, verify
from corpuskit.sources import DocumentsSource, Source, TextSource
from corpuskit.step import Drop, RunContext
from corpuskit.words import count_words

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
