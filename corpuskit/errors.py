"""Errors a user can cause, each with a stable code and a one-line hint.

The CLI prints ``str(error)`` on one line and exits 2. Anything that is not a
``CorpuskitError`` is a bug in corpuskit and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class CorpuskitError(Exception):
    """Base class for user-facing errors: ``code`` is stable, ``hint`` says what to do next."""

    code = "corpuskit_error"
    default_hint = ""

    def __init__(self, message: str, *, hint: str | None = None, location: str | None = None):
        self.message = message
        self.hint = self.default_hint if hint is None else hint
        self.location = location
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = f"{self.location}: " if self.location else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{where}{self.message}{hint}"


@dataclass(frozen=True)
class ErrorItem:
    """One located problem inside a larger input (a recipe field, a config key)."""

    path: str
    message: str
    line: int | None = None

    def render(self, file: str | None) -> str:
        where = file or "<recipe>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class RecipeError(CorpuskitError):
    """A recipe failed validation; ``items`` lists every problem with its location."""

    code = "recipe_invalid"

    def __init__(self, items: Sequence[ErrorItem], *, file: str | None = None):
        self.items = list(items)
        self.file = file
        lines = [item.render(file) for item in self.items]
        super().__init__("; ".join(lines), hint="")

    def one_line(self) -> str:
        return self.message


class UnknownStepError(CorpuskitError):
    code = "unknown_step"


class InputError(CorpuskitError):
    """An input file is missing, unreadable or malformed beyond recovery."""

    code = "input_error"


class DataRootError(CorpuskitError):
    code = "data_root_missing"
    default_hint = (
        "pass --data-root DIR or set CORPUSKIT_DATA=DIR; docs/data.md lists the files the seed "
        "recipes read and where to download each"
    )


class BuildError(CorpuskitError):
    code = "build_error"


class OutputExistsError(CorpuskitError):
    code = "output_exists"
    default_hint = "pass --overwrite to replace it, or change the recipe"


class FormatVersionError(CorpuskitError):
    code = "format_version"
    default_hint = "upgrade corpuskit, or rebuild the data with this version"


class BudgetError(CorpuskitError):
    code = "budget_unmet"


class MissingDependencyError(CorpuskitError):
    code = "missing_dependency"

    def __init__(self, what: str, extra: str, package: str | None = None):
        install = f"pip install 'corpuskit[{extra}]'"
        if package:
            install = f"pip install {package}"
        super().__init__(f"{what} needs an optional dependency that is not installed", hint=install)
