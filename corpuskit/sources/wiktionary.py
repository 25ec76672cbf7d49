"""The ``wiktionary`` source: English entries from a MediaWiki XML dump, rendered as text.

The dump (``.xml`` or ``.xml.bz2``/``.gz``/``.zst``) is streamed page by page with ``iterparse``
and each finished page is cleared, so memory does not grow with the dump. For every main-namespace
page with an ``==English==`` section, the part-of-speech sections give definitions (``#`` lines,
``##`` sub-senses) and usage examples (``#:`` lines); markup is rendered to plain text by
``corpuskit.sources.wikitext``. A dump that ends or breaks inside a page is an ``InputError``
located by file and line.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from pydantic import Field, field_validator

from corpuskit.datapaths import display_path, expand_paths
from corpuskit.errors import InputError
from corpuskit.sources.base import Source
from corpuskit.sources.emit import Emitter
from corpuskit.sources.render import check_template
from corpuskit.sources.textio import file_sha256, open_binary
from corpuskit.sources.wikitext import wikitext_to_plain
from corpuskit.step import CheckContext, RunContext

POS_HEADINGS = (
    "Noun", "Proper noun", "Verb", "Adjective", "Adverb", "Pronoun", "Preposition",
    "Conjunction", "Interjection", "Determiner", "Article", "Numeral", "Particle", "Phrase",
    "Prepositional phrase", "Proverb", "Idiom", "Prefix", "Suffix", "Infix", "Contraction",
    "Symbol", "Letter", "Abbreviation", "Initialism", "Acronym", "Participle", "Postposition",
)  # fmt: skip
_HEADING = re.compile(r"^(={2,6})\s*(.*?)\s*\1\s*$")


@dataclass
class Sense:
    definition: str
    examples: list[str] = field(default_factory=list)


@dataclass
class Entry:
    """One English headword: its parts of speech, each with senses (definition + examples)."""

    headword: str
    page_id: str
    parts: list[tuple[str, list[Sense]]] = field(default_factory=list)


def english_entry(title: str, page_id: str, text: str, *, labels: bool = True) -> Entry | None:
    """The English entry of a page's wikitext, or None when it has no English definitions."""
    entry = Entry(title, page_id)
    in_english = False
    pos: str | None = None
    senses: list[Sense] = []
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            if pos and senses:
                entry.parts.append((pos, senses))
            pos, senses = None, []
            level, name = len(heading.group(1)), heading.group(2)
            if level == 2:
                in_english = name == "English"
            elif in_english and name in POS_HEADINGS:
                pos = name
            continue
        if not (in_english and pos and line.startswith("#")):
            continue
        marks = len(line) - len(line.lstrip("#*:"))
        kind, body = line[:marks], line[marks:]
        if kind in ("#", "##"):
            definition = wikitext_to_plain(body, labels=labels)
            if definition:
                senses.append(Sense(definition))
        elif kind in ("#:", "##:") and senses:
            example = wikitext_to_plain(body, labels=labels)
            if example:
                senses[-1].examples.append(example)
    if pos and senses:
        entry.parts.append((pos, senses))
    return entry if entry.parts else None


def iter_pages(path: Path, shown: str) -> Iterator[tuple[str, str, str, str]]:
    """(title, namespace, page id, wikitext) of each page, streamed; clears what it has read."""
    last = "(none)"
    try:
        with open_binary(path) as handle:
            events = ET.iterparse(handle, events=("start", "end"))
            _, root = next(events)
            ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
            for event, elem in events:
                if event != "end" or elem.tag != f"{ns}page":
                    continue
                title = elem.findtext(f"{ns}title") or ""
                text = elem.findtext(f"{ns}revision/{ns}text") or ""
                yield title, elem.findtext(f"{ns}ns") or "0", elem.findtext(f"{ns}id") or "", text
                last = title
                root.clear()  # drop finished pages: constant memory over the dump
    except ET.ParseError as exc:
        line = exc.position[0]
        raise InputError(
            f"{shown}:{line}: the XML dump breaks off inside a page (after page {last!r}): {exc}",
            hint="the dump is truncated or corrupt; re-download it or check its checksum",
        ) from exc
    except (EOFError, OSError) as exc:
        raise InputError(
            f"{shown}: cannot read the compressed dump after page {last!r} ({exc})",
            hint="the dump is truncated or corrupt; re-download it or check its checksum",
        ) from exc


class WiktionarySource(Source, kind="wiktionary"):
    """English Wiktionary entries from a MediaWiki XML dump.

    One document per headword (``unit: headword``) or per sense (``unit: sense``); each sense is
    rendered with ``definition_template`` (``{word}``, ``{pos}``, ``{definition}``) followed by
    its examples rendered with ``example_template`` (``{example}``). Ids are
    ``<name>:<file>:<title>`` (``#<n>`` appended per sense). Counters: ``pages``,
    ``pages_other_namespace``, ``pages_without_english_definitions``.
    """

    paths: list[str] = Field(
        description="dump files or globs (.xml, .xml.bz2); relative ones are under the data root"
    )
    unit: Literal["headword", "sense"] = Field(
        default="headword", description="one document per headword, or per definition"
    )
    parts_of_speech: list[str] | None = Field(
        default=None, description="POS headings to keep, e.g. [Noun, Verb] (default: all)"
    )
    examples: bool = Field(default=True, description="append usage examples to definitions")
    labels: bool = Field(default=True, description="keep sense labels such as (obsolete)")
    max_senses: int | None = Field(
        default=None, ge=1, description="at most this many senses per part of speech"
    )
    definition_template: str = Field(
        default="{word} ({pos}): {definition}",
        description="rendering of one sense: {word}, {pos} (lower case), {definition}",
    )
    example_template: str = Field(
        default="Example: {example}", description="rendering of one example: {example}"
    )

    @field_validator("definition_template", "example_template")
    @classmethod
    def _valid_template(cls, value: str) -> str:
        check_template(value)
        return value

    @classmethod
    def default_license(cls, params: dict[str, Any]) -> tuple[str, bool] | None:
        return ("CC-BY-SA-3.0 OR GFDL (Wiktionary)", False)

    def input_files(self, ctx: CheckContext) -> list[Path]:
        return expand_paths(self.paths, ctx.data_root, what=f"source {self.label}")

    def partitions(self, ctx: CheckContext) -> list[str]:
        return [str(p) for p in self.input_files(ctx)]

    def render_sense(self, word: str, pos: str, sense: Sense) -> str:
        parts = [
            self.definition_template.format_map(
                {"word": word, "pos": pos.lower(), "definition": sense.definition}
            )
        ]
        if self.examples:
            parts += [self.example_template.format_map({"example": e}) for e in sense.examples]
        return " ".join(parts)

    def read_partition(self, key: str, ctx: RunContext) -> Iterator[pa.Table]:
        path = Path(key)
        shown = display_path(path, ctx.data_root)
        ctx.record_input(shown, file_sha256(path))
        base = {**self.base_meta(), "file": shown}
        out = Emitter(self.label, ctx)
        keep = set(self.parts_of_speech) if self.parts_of_speech is not None else None
        for title, namespace, page_id, text in iter_pages(path, shown):
            ctx.count(self.label, "pages")
            if namespace != "0":
                ctx.count(self.label, "pages_other_namespace")
                continue
            entry = english_entry(title, page_id, text, labels=self.labels)
            parts = [
                (pos, senses[: self.max_senses])
                for pos, senses in (entry.parts if entry else [])
                if keep is None or pos in keep
            ]
            if not parts:
                ctx.count(self.label, "pages_without_english_definitions")
                continue
            prefix = f"{self.label}:{shown}:{title}"
            meta = {**base, "headword": title, "page_id": page_id}
            rendered = [
                (pos, self.render_sense(title, pos, s)) for pos, senses in parts for s in senses
            ]
            if self.unit == "headword":
                meta["parts_of_speech"] = list(dict.fromkeys(pos for pos, _ in parts))
                out.add(prefix, "\n".join(text for _, text in rendered), meta)
            else:
                for n, (pos, sense_text) in enumerate(rendered, 1):
                    out.add(f"{prefix}#{n}", sense_text, {**meta, "pos": pos})
            if out.full:
                yield out.take()
        yield from out.finish()
