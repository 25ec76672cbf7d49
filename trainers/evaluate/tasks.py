"""Versioned task definitions (lm-evaluation-harness style) and the minimal-pair loaders.

A task is data: a name, a version, the files it reads (patterns under the data root), the fields
holding each side of a pair, the fields to break accuracy down by, and its metric. Bump
``version`` whenever the files or the fields change; a result records the version it used.
Users add BLiMP-style tasks with a YAML file of the same fields, or by passing a ``.jsonl`` path.
"""

from __future__ import annotations

import difflib
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from corpuskit.datapaths import expand_paths
from corpuskit.errors import InputError
from trainers.evaluate.errors import TaskError


class TaskSpec(BaseModel):
    """One evaluation task, as data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="task name used on the CLI and in the leaderboard")
    version: int = Field(ge=1, description="bump when files, fields or metric change")
    kind: Literal["minimal_pairs", "ewok", "finetune"] = Field(
        "minimal_pairs", description="how items are built and scored"
    )
    files: list[str] = Field(description="file patterns (relative ones under the data root)")
    good: str = Field("sentence_good", description="field of the acceptable sentence")
    bad: str = Field("sentence_bad", description="field of the unacceptable sentence")
    good_prefix: str | None = Field(None, description="field of a context before `good`")
    bad_prefix: str | None = Field(None, description="field of a context before `bad`")
    group_by: list[str] = Field(default_factory=list, description="fields to break scores by")
    metric: Literal["accuracy", "f1"] = Field(
        "accuracy", description="minimal pairs: share with good > bad; fine-tuning: the selector"
    )
    description: str = Field("", description="one line for reports")

    @property
    def required_fields(self) -> list[str]:
        names = [self.good, self.bad, self.good_prefix, self.bad_prefix, *self.group_by]
        return [n for n in names if n]


BLIMP = TaskSpec(
    name="blimp",
    version=1,
    files=["blimp/*.jsonl.gz"],
    group_by=["UID", "field", "linguistics_term"],
    description="BLiMP: 67 paradigms x 1,000 minimal pairs (Warstadt et al. 2020)",
)
EWOK = TaskSpec(
    name="ewok",
    version=1,
    kind="ewok",
    files=["ewok/ewok-config.zip"],
    good="Target1",
    bad="Target1",
    good_prefix="Context1",
    bad_prefix="Context2",
    group_by=["Domain"],
    description="EWoK: log P(target | matching context) > log P(target | other context)",
)
BUILTIN: dict[str, TaskSpec] = {t.name: t for t in (BLIMP, EWOK)}


@dataclass(frozen=True)
class Pair:
    """One minimal pair: two sentences, optional contexts, and the labels it is grouped by."""

    good: str
    bad: str
    good_prefix: str | None = None
    bad_prefix: str | None = None
    groups: dict[str, str] = field(default_factory=dict)


def resolve_task(name: str) -> TaskSpec:
    """A built-in task by name, a task YAML file, or a BLiMP-style ``.jsonl``/``.jsonl.gz``."""
    from trainers.evaluate.finetune import FINETUNE_TASKS

    if name in BUILTIN:
        return BUILTIN[name]
    if name in FINETUNE_TASKS:
        return FINETUNE_TASKS[name].spec
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        return _task_from_yaml(path)
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        if not path.is_file():
            raise TaskError(f"task file {name!r} does not exist")
        stem = path.name.removesuffix(".gz").removesuffix(".jsonl")
        return TaskSpec(name=stem, version=1, files=[str(path.resolve())])
    known = [*BUILTIN, *FINETUNE_TASKS]
    near = difflib.get_close_matches(name, known, n=1)
    raise TaskError(
        f"unknown task {name!r}",
        hint=(f"did you mean {near[0]}? " if near else "")
        + "known: "
        + ", ".join(known)
        + "; or pass a task .yaml or a .jsonl file",
    )


def _task_from_yaml(path: Path) -> TaskSpec:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TaskError(f"cannot read task file: {exc.strerror}", location=str(path)) from None
    except yaml.YAMLError as exc:
        raise TaskError(f"invalid YAML ({exc})", location=str(path)) from None
    if not isinstance(data, dict):
        raise TaskError("a task file must be a mapping of fields", location=str(path))
    base = path.parent.resolve()
    if isinstance(data.get("files"), list):  # files next to the YAML resolve against it
        data["files"] = [str(base / f) if (base / f).exists() else f for f in data["files"]]
    try:
        return TaskSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "<task>"
        raise TaskError(f"{where}: {err['msg']}", location=str(path)) from None


def load_pairs(spec: TaskSpec, data_root: Path | None, *, limit: int | None = None) -> list[Pair]:
    """Every pair of a minimal-pair task, file by file; ``limit`` keeps the first N per file."""
    try:
        files = expand_paths(spec.files, data_root, what=f"task {spec.name}")
    except InputError as exc:
        raise TaskError(exc.message, hint=exc.hint) from None
    pairs: list[Pair] = []
    for path in files:
        for n, (line, record) in enumerate(_records(path)):
            if limit is not None and n >= limit:
                break
            pairs.append(_pair(spec, record, f"{path}:{line}"))
    return pairs


def _pair(spec: TaskSpec, record: dict[str, Any], where: str) -> Pair:
    missing = [f for f in spec.required_fields if f not in record]
    if missing:
        raise TaskError(
            f"missing field{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
            f"(task {spec.name!r} needs {', '.join(spec.required_fields)})",
            location=where,
        )
    return Pair(
        good=str(record[spec.good]),
        bad=str(record[spec.bad]),
        good_prefix=str(record[spec.good_prefix]) if spec.good_prefix else None,
        bad_prefix=str(record[spec.bad_prefix]) if spec.bad_prefix else None,
        groups={g: str(record[g]) for g in spec.group_by},
    )


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) of a JSONL file, gzipped or not; a bad line is a located error."""
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TaskError(f"invalid JSON ({exc.msg})", location=f"{path}:{line_no}") from None
            if not isinstance(record, dict):
                raise TaskError("a record must be a JSON object", location=f"{path}:{line_no}")
            yield line_no, record
