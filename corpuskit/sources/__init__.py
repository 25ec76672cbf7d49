"""Sources (family ``sources``): every input a recipe reads, with provenance and license."""

from corpuskit.sources.base import Source
from corpuskit.sources.dialogue import DialogueSource
from corpuskit.sources.documents import DocumentsSource
from corpuskit.sources.tabular import (
    ArrowSource,
    CsvSource,
    JsonlSource,
    ParquetSource,
    TabularSource,
    TsvSource,
)
from corpuskit.sources.text import TextSource

__all__ = [
    "ArrowSource",
    "CsvSource",
    "DialogueSource",
    "DocumentsSource",
    "JsonlSource",
    "ParquetSource",
    "Source",
    "TabularSource",
    "TextSource",
    "TsvSource",
]
