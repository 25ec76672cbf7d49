"""Generators (family ``generators``): LLMs (OpenAI-compatible, local transformers), templates."""

from corpuskit.generators.base import Generator, WordQuota
from corpuskit.generators.cache import GenerationCache
from corpuskit.generators.llm import LLMGenerator, MissingApiKeyError
from corpuskit.generators.presets import (
    GrammarBookGenerator,
    GrammarExamplesGenerator,
    ParaphraseGenerator,
    QAGenerator,
)
from corpuskit.generators.template import TemplateGenerator

__all__ = [
    "GenerationCache",
    "Generator",
    "GrammarBookGenerator",
    "GrammarExamplesGenerator",
    "LLMGenerator",
    "MissingApiKeyError",
    "ParaphraseGenerator",
    "QAGenerator",
    "TemplateGenerator",
    "WordQuota",
]
