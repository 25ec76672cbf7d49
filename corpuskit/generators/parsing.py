"""Turn a model's reply into output texts (plain text, one-per-line list, JSON with a schema).

Parsing failures raise ``ParseError`` whose ``reason`` is a stable snake_case noun counted under
``failures.<reason>``. Validation of the texts themselves (too short, a copy of the seed) happens in
``validate_outputs`` and yields reasons for the rejects shard.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from corpuskit.generators.prompts import ParseMode, compile_template
from corpuskit.words import count_words

# "1. ", "2) ", "(3) ", "- ", "* ", "• " at the start of a line: list markers models add even when
# told not to.
_MARKER = re.compile(r"^\s*(?:\(?\d{1,3}[.)]|[-*•])\s+")
_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*\n(.*?)\n\s*```\s*$", re.DOTALL)
_NORMALISE = re.compile(r"[\W_]+", re.UNICODE)

OUTPUT_REJECT_REASONS = ("too_short", "too_long", "copy_of_seed", "duplicate_output")


class ParseError(Exception):
    """A reply that does not parse in the configured mode; ``reason`` names why."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def parse_reply(
    text: str,
    mode: ParseMode,
    *,
    json_schema: Mapping[str, Any] | None = None,
    output_template: str | None = None,
) -> list[str]:
    """Output texts of one reply.

    Args:
        text: the model's reply.
        mode: ``text`` (the whole reply), ``lines`` (one output per non-empty line, list markers
            removed) or ``json`` (a JSON value validated against ``json_schema``; strings are
            outputs, objects are rendered with ``output_template``).
        json_schema: JSON Schema the parsed value must satisfy (``json`` mode).
        output_template: Jinja template filled from each JSON object (``json`` mode).

    Raises:
        ParseError: ``empty_reply``, ``bad_json``, ``schema_mismatch``.
    """
    stripped = text.strip()
    if not stripped:
        raise ParseError("empty_reply")
    if mode == "text":
        return [stripped]
    if mode == "lines":
        lines = [_MARKER.sub("", line).strip() for line in stripped.splitlines()]
        out = [line for line in lines if line]
        if not out:
            raise ParseError("empty_reply")
        return out
    return _parse_json(stripped, json_schema, output_template)


def _parse_json(
    text: str, schema: Mapping[str, Any] | None, output_template: str | None
) -> list[str]:
    fenced = _FENCE.match(text)
    try:
        value = json.loads(fenced.group(1) if fenced else text)
    except json.JSONDecodeError as exc:
        raise ParseError("bad_json", str(exc)) from None
    if schema is not None:
        import jsonschema

        try:
            jsonschema.validate(value, dict(schema))
        except jsonschema.ValidationError as exc:
            raise ParseError("schema_mismatch", exc.message) from None
    items = value if isinstance(value, list) else [value]
    template = compile_template(output_template) if output_template else None
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(item.strip())
        elif isinstance(item, dict) and template is not None:
            out.append(template.render(item).strip())
        else:
            raise ParseError(
                "schema_mismatch", "JSON objects need an output_template to become text"
            )
    out = [o for o in out if o]
    if not out:
        raise ParseError("empty_reply")
    return out


def normalise(text: str) -> str:
    """Lower-cased words without punctuation: two texts equal under it are copies."""
    return " ".join(_NORMALISE.sub(" ", text.casefold()).split())


def validate_outputs(
    outputs: list[str],
    seed_text: str,
    *,
    min_words: int,
    max_words: int | None,
    drop_copies: bool,
    seen: set[str],
) -> list[tuple[str, str | None]]:
    """(text, reject reason or None) for each output; ``seen`` collects normalised kept outputs."""
    seed_norm = normalise(seed_text)
    verdicts: list[tuple[str, str | None]] = []
    for text in outputs:
        words = count_words(text)
        norm = normalise(text)
        reason: str | None = None
        if words < min_words:
            reason = "too_short"
        elif max_words is not None and words > max_words:
            reason = "too_long"
        elif drop_copies and norm == seed_norm:
            reason = "copy_of_seed"
        elif drop_copies and norm in seen:
            reason = "duplicate_output"
        if reason is None:
            seen.add(norm)
        verdicts.append((text, reason))
    return verdicts
