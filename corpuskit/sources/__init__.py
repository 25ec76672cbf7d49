"""Sources (family ``sources``): every input a recipe reads, with provenance and license."""

from corpuskit.sources.base import Source
from corpuskit.sources.dialogue import DialogueSource
from corpuskit.sources.documents import DocumentsSource
from corpuskit.sources.hf import HFDatasetSource
from corpuskit.sources.paraphrase import ParaphrasePairsSource
from corpuskit.sources.qa import InstructionSource, QASource
from corpuskit.sources.tabular import (
    ArrowSource,
    CsvSource,
    JsonlSource,
    ParquetSource,
    TabularSource,
    TsvSource,
)
from corpuskit.sources.text import TextSource
from corpuskit.sources.wiktionary import WiktionarySource

__all__ = [
    "ArrowSource",
    "CsvSource",
    "DialogueSource",
    "DocumentsSource",
    "HFDatasetSource",
    "InstructionSource",
    "JsonlSource",
    "ParaphrasePairsSource",
    "ParquetSource",
    "QASource",
    "Source",
    "TabularSource",
    "TextSource",
    "TsvSource",
    "WiktionarySource",
]
