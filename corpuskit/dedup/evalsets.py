"""Evaluation sets to decontaminate against: where they live and how their items are read.

An item is one text that must not leak into training data (a BLiMP sentence, a GLUE premise).
Items are read from JSON lines (``.jsonl``/``.json``, optionally ``.gz``), TSV with a header,
plain text (one item per line), or EWoK's password-protected config zip, which is read in memory
only: its terms forbid redistributing it in plain text, so nothing from it is ever written out.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from corpuskit.datapaths import display_path, expand_paths
from corpuskit.errors import InputError
from corpuskit.sources.textio import file_sha256

Format = Literal["auto", "jsonl", "tsv", "text", "ewok_zip"]


class EvalSet(BaseModel):
    """One evaluation set: a name (the drop reason is ``contaminated_<name>``) and its files."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9_]+$", description="short snake_case name")
    paths: list[str] = Field(description="files or globs; relative ones are under the data root")
    fields: list[str] | None = Field(
        default=None,
        description="JSON keys / TSV columns holding items (dotted for nested JSON); "
        "unset: every string value",
    )
    format: Format = Field(default="auto", description="file format (auto: from the extension)")
    password: str | None = Field(default=None, description="password of a zip (EWoK: 'ewok')")
    redistributable: bool = Field(
        default=True,
        description="false: never copy item text into reports (EWoK's terms of use)",
    )


BUILTIN_SETS: dict[str, EvalSet] = {
    "blimp": EvalSet(
        name="blimp", paths=["blimp/*.jsonl.gz"], fields=["sentence_good", "sentence_bad"]
    ),
    "glue": EvalSet(
        name="glue",
        paths=["glue/mnli/*.jsonl", "glue/rte_resplit/*.tsv", "glue/wnli_resplit/*.tsv"],
        fields=["premise", "hypothesis", "sentence1", "sentence2"],
    ),
    "superglue": EvalSet(name="superglue", paths=["superglue_fewglue/*/*.jsonl"]),
    "ewok": EvalSet(
        name="ewok",
        paths=["ewok/ewok-config.zip"],
        format="ewok_zip",
        password="ewok",
        redistributable=False,
    ),
}


def resolve_set(spec: str | EvalSet) -> EvalSet:
    """A builtin set by name, or the given spec."""
    if isinstance(spec, EvalSet):
        return spec
    try:
        return BUILTIN_SETS[spec]
    except KeyError:
        raise InputError(
            f"unknown evaluation set {spec!r}",
            hint=f"use one of {sorted(BUILTIN_SETS)} or a mapping {{name, paths, fields}}",
        ) from None


def set_files(spec: EvalSet, data_root: Path | None) -> list[Path]:
    return expand_paths(spec.paths, data_root, what=f"evaluation set {spec.name}")


def load_items(
    spec: EvalSet, data_root: Path | None, inputs: dict[str, str] | None = None
) -> list[str]:
    """Every item text of the set, in file order (duplicates kept)."""
    items: list[str] = []
    for path in set_files(spec, data_root):
        if inputs is not None:
            inputs[display_path(path, data_root)] = file_sha256(path)
        items.extend(_read(path, spec))
    return items


def _format(path: Path, spec: EvalSet) -> Format:
    if spec.format != "auto":
        return spec.format
    suffixes = [s for s in path.suffixes if s != ".gz"]
    ext = suffixes[-1] if suffixes else ""
    return {".jsonl": "jsonl", ".json": "jsonl", ".tsv": "tsv"}.get(ext, "text")  # type: ignore[return-value]


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig")
    return io.TextIOWrapper(open(path, "rb"), encoding="utf-8-sig")


def _read(path: Path, spec: EvalSet) -> Iterator[str]:
    fmt = _format(path, spec)
    if fmt == "ewok_zip":
        yield from ewok_items(path, spec.password or "")
        return
    with _open_text(path) as handle:
        if fmt == "jsonl":
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise InputError(f"{path}:{number}: not JSON ({exc.msg})") from None
                    yield from _strings(record, spec.fields)
        elif fmt == "tsv":
            reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            for row in reader:
                yield from _strings(row, spec.fields)
        else:
            yield from (line.strip() for line in handle if line.strip())


def _strings(record: Any, fields: list[str] | None) -> Iterator[str]:
    """String values of a record: the named (dotted) fields, or every string leaf."""
    if fields is None:
        yield from _leaves(record)
        return
    for name in fields:
        value: Any = record
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str) and value.strip():
            yield value


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if " " in value.strip():  # single tokens (labels, ids, words) are not items
            yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)


MIN_FRAGMENT_WORDS = 6
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PATTERN = re.compile(r"pattern:\s*\"([^\"]+)\"")
_PLACEHOLDER = re.compile(r"\[[^\]]*\]|\{[^}]*\}")


def ewok_items(path: Path, password: str) -> Iterator[str]:
    """EWoK items, read from the password zip in memory: canary UUIDs and template fragments.

    EWoK's config holds templates (``"[object1] is to the {segment1} of [object2]"``), not final
    items; the fixed text between placeholders and the canary strings are what can leak verbatim.
    """
    try:
        archive = zipfile.ZipFile(path)
        archive.setpassword(password.encode())
        names = sorted(n for n in archive.namelist() if n.endswith((".yml", ".yaml")))
        texts = [archive.read(name).decode("utf-8") for name in names]
    except (zipfile.BadZipFile, RuntimeError) as exc:
        raise InputError(f"cannot read EWoK zip {path}: {exc}", hint="check the password") from None
    seen: set[str] = set()
    for text in texts:
        for canary in _UUID.findall(text):
            if canary not in seen:
                seen.add(canary)
                yield canary
        for pattern in _PATTERN.findall(text):
            for fragment in _PLACEHOLDER.split(pattern):
                # short template glue ("is next to the") is ordinary English, not a leak
                if len(fragment.split()) >= MIN_FRAGMENT_WORDS and fragment not in seen:
                    seen.add(fragment)
                    yield fragment.strip()
