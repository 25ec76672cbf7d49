"""One registry for every step family, with three rungs of extension.

1. A literal list of documents (the ``documents`` source).
2. A plain function registered with a decorator (``@filter_function("has_verb")``).
3. A subclass with a kind: ``class MyFilter(Filter, kind="my_filter")``.

Kinds are looked up in this order: registered names, ``"module:attr"`` import targets, and the
``corpuskit.steps`` entry-point group (names ``<family>.<kind>``) for third-party packages. A miss
raises ``UnknownStepError`` with near-match suggestions.
"""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points
from typing import Any

from corpuskit.errors import UnknownStepError

ENTRY_POINT_GROUP = "corpuskit.steps"
FAMILIES = ("sources", "filters", "generators", "dedup", "budget", "curriculum")


class Registry:
    """Maps kind names of one family to step classes."""

    def __init__(self, family: str):
        self.family = family
        self._classes: dict[str, type] = {}

    def add(self, kind: str, cls: type) -> None:
        existing = self._classes.get(kind)
        # Re-registering the same qualified name is a module reload, not a clash.
        same_name = existing is not None and (existing.__module__, existing.__qualname__) == (
            cls.__module__,
            cls.__qualname__,
        )
        if existing is not None and existing is not cls and not same_name:
            raise ValueError(f"{self.family} kind {kind!r} is already registered by {existing}")
        self._classes[kind] = cls

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._classes)

    def items(self) -> list[tuple[str, type]]:
        return [(name, self._classes[name]) for name in self.names()]

    def get(self, kind: str) -> type:
        if kind in self._classes:
            return self._classes[kind]
        if ":" in kind:
            return self._import_target(kind)
        self._load_entry_points()
        if kind in self._classes:
            return self._classes[kind]
        close = difflib.get_close_matches(kind, list(self._classes), n=3, cutoff=0.6)
        hint = (
            f"did you mean {' or '.join(close)}?"
            if close
            else (
                f"`corpuskit ls {self.family}` lists the {len(self._classes)} known kinds; "
                "a step of your own is named as kind: package.module:ClassName"
            )
        )
        raise UnknownStepError(f"unknown {self.family} kind {kind!r}", hint=hint)

    def _import_target(self, target: str) -> type:
        try:
            obj = import_object(target)
        except (ImportError, AttributeError) as exc:
            raise UnknownStepError(
                f"cannot import {self.family} target {target!r}: {exc}",
                hint="use 'package.module:ClassName' with the package importable",
            ) from exc
        return obj

    def _load_entry_points(self) -> None:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            family, _, kind = ep.name.partition(".")
            if family == self.family and kind not in self._classes:
                self._classes[kind] = ep.load()


def import_object(target: str) -> Any:
    """The object a ``"package.module:attr"`` target names (raises ImportError/AttributeError)."""
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


REGISTRIES: dict[str, Registry] = {family: Registry(family) for family in FAMILIES}


def registry(family: str) -> Registry:
    """The registry of one step family (``sources``, ``filters``, ...)."""
    try:
        return REGISTRIES[family]
    except KeyError:
        raise UnknownStepError(
            f"unknown step family {family!r}", hint=f"one of: {', '.join(FAMILIES)}"
        ) from None


def ensure_builtins_loaded() -> None:
    """Import the built-in step modules so their classes register themselves."""
    for module in (
        "corpuskit.sources",
        "corpuskit.filters",
        "corpuskit.generators",
        "corpuskit.dedup",
        "corpuskit.budget",
        "corpuskit.curriculum",
    ):
        importlib.import_module(module)


def step_kinds() -> dict[str, list[str]]:
    ensure_builtins_loaded()
    return {family: REGISTRIES[family].names() for family in FAMILIES}


def describe(cls: Any) -> list[tuple[str, str, str, str]]:
    """(field, type, default, description) rows for a step class, for `ls` and docs."""
    rows = []
    for name, info in cls.model_fields.items():
        annotation = getattr(info.annotation, "__name__", None) or str(info.annotation)
        default = (
            "required" if info.is_required() else repr(info.get_default(call_default_factory=True))
        )
        rows.append((name, annotation.replace("typing.", ""), default, info.description or ""))
    return rows
