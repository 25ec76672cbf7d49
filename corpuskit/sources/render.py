"""Turning a record (a mapping of fields) into document text: chosen fields or a template.

Templates use ``{field}`` placeholders (``str.format`` syntax without conversions or format specs;
``{{`` and ``}}`` are literal braces). A placeholder naming a field the record lacks, or whose value
is null, makes the record a ``missing_field`` reject.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator

from corpuskit.sources.base import Source
from corpuskit.sources.emit import MALFORMED_RECORD, MISSING_FIELD


def template_fields(template: str) -> list[str]:
    """Placeholder names of a template, in order; a ValueError for unsupported syntax."""
    names: list[str] = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name or spec or conversion or not name.replace("_", "a").replace("-", "a").isalnum():
            raise ValueError(
                f"template placeholder {{{name}}} must be a plain field name "
                "(no format spec, conversion, index or attribute)"
            )
        names.append(name)
    return names


def check_template(template: str | None) -> str | None:
    """Pydantic helper: validate a template's syntax and return it unchanged."""
    if template is not None:
        template_fields(template)
    return template


class RecordProblemError(Exception):
    """A record cannot become a document: ``reason`` is a stable reject reason."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def field_text(record: Mapping[str, Any], field: str) -> str:
    """The text of one field; missing/null is ``missing_field``, a list or object is malformed."""
    value = record.get(field)
    if value is None:
        raise RecordProblemError(MISSING_FIELD, f"field {field!r} is missing or null")
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    raise RecordProblemError(
        MALFORMED_RECORD, f"field {field!r} holds a {type(value).__name__}, not text"
    )


@dataclass(frozen=True)
class RecordRenderer:
    """Text, id and meta of a record, from the source's field choices."""

    text_fields: Sequence[str]
    join: str = "\n"
    template: str | None = None
    id_field: str | None = None
    meta_fields: Sequence[str] = ()
    template_for: Callable[[Mapping[str, Any]], str] | None = None  # per-record template choice

    def text(self, record: Mapping[str, Any]) -> str:
        template = self.template_for(record) if self.template_for else self.template
        if template is not None:
            values = {name: field_text(record, name) for name in template_fields(template)}
            return template.format_map(values)
        return self.join.join(field_text(record, name) for name in self.text_fields)

    def doc_id(self, record: Mapping[str, Any], prefix: str, fallback: str) -> str:
        """``<prefix><id field>`` when an id field is set, else ``<prefix><fallback>``."""
        if self.id_field is None:
            return prefix + fallback
        return prefix + field_text(record, self.id_field)

    def meta(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return {name: record.get(name) for name in self.meta_fields}


class RecordFieldsSource(Source):
    """Base of sources of records: which fields make the text, the id and the meta."""

    text_fields: list[str] = Field(
        default=["text"], description="fields whose values, joined by `join`, are the text"
    )
    join: str = Field(default="\n", description="separator between several text fields")
    template: str | None = Field(
        default=None,
        description="render the text from a template with {field} placeholders instead",
    )
    id_field: str | None = Field(
        default=None, description="field holding a unique id (default: the record's position)"
    )
    meta_fields: list[str] = Field(default=[], description="fields copied into each doc's meta")

    @field_validator("template")
    @classmethod
    def _valid_template(cls, value: str | None) -> str | None:
        return check_template(value)

    @field_validator("text_fields", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value
