"""Curricula (family ``curriculum``): the order in which the trainer sees the selected documents.

A curriculum returns stages; each stage becomes its own ordered group of shards, recorded in the
manifest (``corpuskit.open_build(p).stages``), and the trainer reads stages in list order.

- ``shuffle``: one stage in a seeded hash order of ids.
- ``ordered``: one stage sorted by a key (``order_by``).
- ``merged``: one stage that interleaves the sources by words, so that every prefix holds each
  source in about its overall proportion (CLASS-IT's "merged").
- ``sequential``: one stage per entry of ``stages``, each with its sources and its own key
  (CLASS-IT's "sequential": conversation first, then QA). Stages never interleave.

Keys (``order_by``): ``hash`` (seeded), ``length`` (words), ``rarity`` (mean surprisal of the
document's lowercased words under the unigram distribution of the selected corpus), ``meta:<field>``
(a numeric meta value such as age of acquisition; documents without it go last), or a user function
``module:attr`` taking the stage's Arrow table and returning one number per row. Ties fall back to
the seeded hash order, so every ordering is total and independent of input order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, field_validator

from corpuskit.errors import CorpuskitError, ErrorItem
from corpuskit.hashing import hash_keys
from corpuskit.registry import import_object
from corpuskit.step import CheckContext, RunContext, Step
from corpuskit.tally import column_values

if TYPE_CHECKING:
    from corpuskit.recipe import Recipe

BUILTIN_KEYS = ("hash", "length", "rarity")


class CurriculumError(CorpuskitError):
    """A curriculum cannot order the selected documents (unknown key, bad meta value)."""

    code = "curriculum_invalid"


@dataclass(frozen=True)
class Stage:
    """A named, ordered group of rows; stages are written (and trained on) in list order."""

    name: str
    indices: np.ndarray


class Curriculum(Step):
    """Base of curricula: ``order(table, ctx)`` returns the stages."""

    family: ClassVar[str] = "curriculum"

    def order(self, table: pa.Table, ctx: RunContext) -> list[Stage]:
        raise NotImplementedError


def _check_key(value: str) -> str:
    if value in BUILTIN_KEYS or (value.startswith("meta:") and len(value) > 5) or ":" in value:
        return value
    raise ValueError(
        f"unknown order key {value!r}: use {', '.join(BUILTIN_KEYS)}, meta:<field> "
        "or module:function"
    )


def _user_function(target: str) -> Callable[[pa.Table], Any]:
    try:
        fn = import_object(target)
    except (ImportError, AttributeError) as exc:
        raise CurriculumError(
            f"cannot import order key {target!r}: {exc}",
            hint="use 'package.module:function' with the package importable",
        ) from None
    if not callable(fn):
        raise CurriculumError(f"order key {target!r} is not callable")
    return fn


def rarity(texts: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Mean surprisal (bits) of each text's lowercased words under the texts' own unigrams."""
    tokens = pc.utf8_split_whitespace(pc.utf8_lower(texts))
    if isinstance(tokens, pa.ChunkedArray):
        tokens = tokens.combine_chunks()
    flat, parents = pc.list_flatten(tokens), pc.list_parent_indices(tokens)
    keep = pc.not_equal(flat, "")
    flat, parents = flat.filter(keep), parents.filter(keep).to_numpy()
    n_rows = len(tokens)
    if len(flat) == 0:
        return np.zeros(n_rows)
    counts = pc.value_counts(flat)
    freq = counts.field("counts").to_numpy().astype(np.float64)
    index = pc.index_in(flat, value_set=counts.field("values")).to_numpy()
    cost = -np.log2(freq[index] / len(flat))
    total = np.bincount(parents, weights=cost, minlength=n_rows)
    n = np.bincount(parents, minlength=n_rows)
    return np.divide(total, n, out=np.zeros(n_rows), where=n > 0)


def meta_values(table: pa.Table, name: str) -> np.ndarray:
    """A numeric meta field per row (NaN where absent); a non-number is an error."""
    out = np.full(table.num_rows, np.nan)
    for i, (doc_id, meta) in enumerate(
        zip(table["id"].to_pylist(), table["meta"].to_pylist(), strict=True)
    ):
        value = json.loads(meta).get(name) if meta else None
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CurriculumError(f"document {doc_id!r}: meta {name!r} is {value!r}, not a number")
        out[i] = value
    return out


def sort_rows(
    table: pa.Table, rows: np.ndarray, key: str, descending: bool, seed: int
) -> np.ndarray:
    """``rows`` of ``table`` sorted by ``key`` (ties, and ``hash``, by the seeded id hash)."""
    part = table.take(pa.array(rows, pa.int64()))
    tiebreak = hash_keys(part["id"], seed, salt="curriculum")
    if key == "hash":
        primary = np.zeros(part.num_rows)
    elif key == "length":
        primary = column_values(part["words"]).astype(np.float64)
    elif key == "rarity":
        primary = rarity(part["text"])
    elif key.startswith("meta:"):
        primary = meta_values(part, key[5:])
    else:
        primary = np.asarray(_user_function(key)(part), dtype=np.float64)
        if primary.shape != (part.num_rows,):
            raise CurriculumError(
                f"order key {key!r} returned {primary.shape}, "
                f"expected one number per row ({part.num_rows})"
            )
    if descending:
        primary = -primary  # NaN stays NaN, so missing values go last either way
    missing = np.isnan(primary)
    primary = np.where(missing, 0.0, primary)
    return rows[np.lexsort((tiebreak, primary, missing))]


class OrderKeyMixin(BaseModel):
    """The ``order_by``/``descending`` fields shared by stages and one-stage curricula."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_by: str = Field(
        default="hash",
        description="hash, length, rarity, meta:<field>, or module:function (table -> numbers)",
    )
    descending: bool = Field(default=False, description="largest key first")

    @field_validator("order_by")
    @classmethod
    def _valid_key(cls, value: str) -> str:
        return _check_key(value)

    def check_key(self) -> None:
        if self.order_by not in BUILTIN_KEYS and not self.order_by.startswith("meta:"):
            _user_function(self.order_by)


class ShuffleCurriculum(Curriculum, kind="shuffle"):
    """One stage in a seeded hash order of document ids (the same order on every machine)."""

    def order(self, table: pa.Table, ctx: RunContext) -> list[Stage]:
        from corpuskit.hashing import hash_order

        return [Stage("main", hash_order(table["id"], ctx.seed, salt="shuffle"))]


class InputOrderCurriculum(Curriculum, kind="input_order"):
    """One stage in input order: sources as listed in the recipe, files sorted, then position."""

    def order(self, table: pa.Table, ctx: RunContext) -> list[Stage]:
        # The one per-row array of an input-order build: 4 bytes a row while row numbers fit.
        dtype = np.int32 if table.num_rows < 2**31 else np.int64
        return [Stage("main", np.arange(table.num_rows, dtype=dtype))]


class OrderedCurriculum(Curriculum, OrderKeyMixin, kind="ordered"):
    """One stage sorted by ``order_by`` (e.g. shortest documents first)."""

    def check(self, ctx: CheckContext) -> None:
        self.check_key()

    def order(self, table: pa.Table, ctx: RunContext) -> list[Stage]:
        rows = np.arange(table.num_rows, dtype=np.int64)
        return [Stage("main", sort_rows(table, rows, self.order_by, self.descending, ctx.seed))]


def interleave(table: pa.Table, per_source: list[np.ndarray]) -> np.ndarray:
    """Merge ordered row lists by the word midpoint of each row within its own list.

    A row at words ``[a, b)`` of a source with ``W`` words sits at ``(a + b) / 2W``; merging by
    that position keeps every source near its overall share in every prefix.
    """
    words = column_values(table["words"]).astype(np.float64)
    rows, position, rank = [], [], []
    for r, source_rows in enumerate(per_source):
        w = words[source_rows]
        total = w.sum() or 1.0
        rows.append(source_rows)
        position.append((np.cumsum(w) - w / 2) / total)
        rank.append(np.full(len(source_rows), r))
    if not rows:
        return np.empty(0, dtype=np.int64)
    all_rows = np.concatenate(rows)
    return all_rows[np.lexsort((np.concatenate(rank), np.concatenate(position)))]


def _rows_by_source(table: pa.Table) -> dict[str, np.ndarray]:
    sources = table["source"]
    return {
        name: np.flatnonzero(column_values(pc.equal(sources, name)))
        for name in sorted(pc.unique(sources).to_pylist())
    }


class MergedCurriculum(Curriculum, OrderKeyMixin, kind="merged"):
    """One stage interleaving the sources by words; each source in ``order_by`` order."""

    def check(self, ctx: CheckContext) -> None:
        self.check_key()

    def order(self, table: pa.Table, ctx: RunContext) -> list[Stage]:
        ordered = [
            sort_rows(table, rows, self.order_by, self.descending, ctx.seed)
            for rows in _rows_by_source(table).values()
        ]
        return [Stage("main", interleave(table, ordered))]


class StageSpec(OrderKeyMixin):
    """One stage of a sequential curriculum: its name, its sources, its order."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="stage name")
    sources: list[str] = Field(min_length=1, description="sources whose documents form the stage")


class SequentialCurriculum(Curriculum, kind="sequential"):
    """Stages in list order, each its own shard group; every source belongs to one stage."""

    stages: list[StageSpec] = Field(min_length=1, description="the stages, first trained first")

    def check(self, ctx: CheckContext) -> None:
        for stage in self.stages:
            stage.check_key()

    def order(self, table: pa.Table, ctx: RunContext) -> list[Stage]:
        by_source = _rows_by_source(table)
        placed = {s for stage in self.stages for s in stage.sources}
        stray = sorted(set(by_source) - placed)
        if stray:
            raise CurriculumError(
                f"documents of source(s) {stray} belong to no curriculum stage",
                hint="list every source under one of curriculum.stages",
            )
        out = []
        for stage in self.stages:
            parts = [by_source[s] for s in stage.sources if s in by_source]
            rows = np.sort(np.concatenate(parts)) if parts else np.empty(0, np.int64)
            out.append(
                Stage(
                    stage.name, sort_rows(table, rows, stage.order_by, stage.descending, ctx.seed)
                )
            )
        return out


def curriculum_problems(recipe: Recipe) -> list[ErrorItem]:
    """Cross-checks of a sequential curriculum against the recipe's sources (no data read)."""
    curriculum = recipe.curriculum
    if not isinstance(curriculum, SequentialCurriculum):
        return []
    names = [s.label for s in recipe.sources]
    items: list[ErrorItem] = []
    seen: dict[str, str] = {}
    for i, stage in enumerate(curriculum.stages):
        if stage.name in [s.name for s in curriculum.stages[:i]]:
            items.append(
                ErrorItem(f"curriculum.stages[{i}].name", f"duplicate stage {stage.name!r}")
            )
        for source in stage.sources:
            where = f"curriculum.stages[{i}].sources"
            if source not in names:
                items.append(ErrorItem(where, f"unknown source {source!r} (sources: {names})"))
            elif source in seen:
                items.append(
                    ErrorItem(where, f"source {source!r} is already in stage {seen[source]!r}")
                )
            seen[source] = stage.name
    items += [
        ErrorItem("curriculum.stages", f"source {n!r} is in no stage")
        for n in names
        if n not in seen
    ]
    return items
