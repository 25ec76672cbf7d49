"""Testing helpers for corpuskit users: hypothesis strategies and filter property checks.

``check_filter(MyFilter(min_words=3), monotone={"min_words": "higher_is_stricter"})`` runs every
property a filter must satisfy and raises ``FilterCheckError`` with the smallest failing input.
Names are imported lazily, so ``corpuskit.testing.openai_server`` does not need hypothesis.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FilterCheckError": "checks",
    "FilterReport": "checks",
    "check_filter": "checks",
    "check_mapper": "mapper_checks",
    "MapperCheckError": "mapper_checks",
    "any_documents": "strategies",
    "dialogue_documents": "strategies",
    "documents": "strategies",
    "english_sentences": "strategies",
    "english_text": "strategies",
    "metas": "strategies",
    "paraphrase_pairs": "strategies",
    "unicode_text": "strategies",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'corpuskit.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(f"corpuskit.testing.{_EXPORTS[name]}"), name)
