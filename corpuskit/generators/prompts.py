"""Prompt templates (Jinja2 or format strings), the built-in prompt sets, and the phenomena list.

A template declares which fields it reads; ``Template.fields`` lists the top-level names so that
``check()`` can reject a template that references a field no document provides, before any data is
read. Rendering is strict: a missing field is an error, never an empty string.
"""

from __future__ import annotations

import difflib
import hashlib
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from corpuskit.errors import CorpuskitError

DATA_DIR = Path(__file__).parent / "data"
TemplateFormat = Literal["jinja", "format"]
ParseMode = Literal["text", "lines", "json"]
DOC_FIELDS = ("text", "id", "source", "meta", "words")


class TemplateError(CorpuskitError):
    """A prompt template is malformed or references a field that does not exist."""

    code = "template_invalid"


@dataclass(frozen=True)
class Template:
    """A compiled prompt template and the top-level fields it references."""

    source: str
    fmt: TemplateFormat
    fields: frozenset[str]

    def render(self, values: Mapping[str, Any]) -> str:
        """The filled template; a missing field raises ``TemplateError``."""
        if self.fmt == "format":
            try:
                return self.source.format_map(dict(values))
            except (KeyError, IndexError, AttributeError) as exc:
                raise TemplateError(f"template field missing: {exc}") from None
        import jinja2

        try:
            return _jinja_template(self.source).render(**values)
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"template field missing: {exc.message}") from None


@lru_cache(maxsize=1)
def _jinja_env() -> Any:
    import jinja2

    # StrictUndefined: a missing field fails loudly instead of rendering as an empty string.
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


@lru_cache(maxsize=256)
def _jinja_template(source: str) -> Any:
    # Parsing and compiling a template costs far more than rendering it: do it once per text.
    return _jinja_env().from_string(source)


def compile_template(source: str, fmt: TemplateFormat = "jinja") -> Template:
    """Parse ``source`` and collect the names it references (syntax errors raise TemplateError)."""
    if fmt == "format":
        names = set()
        try:
            for _, name, _, _ in string.Formatter().parse(source):
                if name is not None:
                    if name == "" or name.isdigit():
                        raise TemplateError("positional {} fields are not allowed; name the field")
                    names.add(name.split(".")[0].split("[")[0])
        except ValueError as exc:
            raise TemplateError(f"bad format template: {exc}") from None
        return Template(source, fmt, frozenset(names))
    try:
        import jinja2
        from jinja2 import meta
    except ImportError:
        from corpuskit.errors import MissingDependencyError

        raise MissingDependencyError("jinja prompt templates", "gen") from None
    try:
        parsed = _jinja_env().parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"bad jinja template (line {exc.lineno}): {exc.message}") from None
    return Template(source, fmt, frozenset(meta.find_undeclared_variables(parsed)))


def check_fields(template: Template, available: Iterable[str], where: str) -> None:
    """Raise ``TemplateError`` naming the first field ``template`` uses that is not available."""
    known = sorted(set(available))
    for name in sorted(template.fields - set(known)):
        near = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {near[0]}?" if near else f"available fields: {', '.join(known)}"
        raise TemplateError(f"{where} template references unknown field {name!r}", hint=hint)


def prompt_hash(*parts: str | None) -> str:
    """12 hex of sha256 over the template texts: the prompt's identity in provenance and caches."""
    h = hashlib.sha256()
    for part in parts:
        h.update((part or "").encode())
        h.update(b"\x00")
    return h.hexdigest()[:12]


@dataclass(frozen=True)
class PromptSet:
    """A named, versioned prompt: system and user templates, parsing and default variables."""

    id: str
    version: int
    user: str
    system: str | None = None
    parse: ParseMode = "text"
    json_schema: dict[str, Any] | None = None
    output_template: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    description: str = ""


@lru_cache(maxsize=1)
def prompt_sets() -> dict[str, PromptSet]:
    """The built-in prompt sets (``corpuskit/generators/data/prompts.yaml``)."""
    data = yaml.safe_load((DATA_DIR / "prompts.yaml").read_text(encoding="utf-8"))
    return {name: PromptSet(id=name, **spec) for name, spec in data.items()}


def get_prompt_set(name: str) -> PromptSet:
    sets = prompt_sets()
    if name not in sets:
        near = difflib.get_close_matches(name, list(sets), n=1)
        hint = f"did you mean {near[0]}?" if near else f"built-in prompt sets: {', '.join(sets)}"
        raise TemplateError(f"unknown prompt set {name!r}", hint=hint)
    return sets[name]


@dataclass(frozen=True)
class Phenomenon:
    """A grammatical phenomenon (BLiMP-style) with our own description and example sentences."""

    name: str
    title: str
    field: str
    description: str
    examples: tuple[str, ...]


@lru_cache(maxsize=1)
def phenomena() -> dict[str, Phenomenon]:
    """The phenomena list (``corpuskit/generators/data/phenomena.yaml``), by name."""
    data = yaml.safe_load((DATA_DIR / "phenomena.yaml").read_text(encoding="utf-8"))
    return {
        item["name"]: Phenomenon(
            item["name"],
            item["title"],
            item["field"],
            item["description"],
            tuple(item["examples"]),
        )
        for item in data
    }
