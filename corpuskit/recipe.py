"""Recipe: the typed, closed description of a corpus build, identical in YAML and Python.

Each step entry is ``{kind: <registered name>, **params}``, validated into that class's fields with
``extra="forbid"``. Every problem is collected and reported with its YAML line and field path. The
canonical hash (validated, defaults filled, canonical JSON, sha256, 12 hex) names the build.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from corpuskit.budget import Budget
from corpuskit.curriculum import Curriculum, ShuffleCurriculum
from corpuskit.dedup.base import Dedup
from corpuskit.errors import CorpuskitError, ErrorItem, RecipeError
from corpuskit.filters.base import BlockStep
from corpuskit.generators.base import Generator
from corpuskit.registry import ensure_builtins_loaded, registry
from corpuskit.sources.base import Source
from corpuskit.step import CheckContext, Step
from corpuskit.yamlloc import Path_, format_path, line_of, load_yaml_with_lines

LIST_FAMILIES = ("sources", "filters", "generators", "dedup")
SINGLE_FAMILIES = ("budget", "curriculum")
HASH_EXCLUDED = ("description",)


class OutputConfig(BaseModel):
    """How the build is written."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shard_words: int = Field(
        default=2_000_000, gt=0, description="start a new shard after this many words"
    )
    keep_rejects: bool = Field(
        default=True, description="write dropped documents with their reasons to rejects/"
    )


class Recipe(BaseModel):
    """A data recipe: sources → filters → generators → dedup → budget → curriculum → shards."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="names out/<name>/")
    version: int | str = Field(default=1, description="the recipe author's version label")
    description: str = Field(default="", description="free text; not part of the hash")
    seed: int = Field(default=0, description="seeds every random choice of the build")
    sources: list[Source] = Field(min_length=1, description="where documents come from")
    filters: list[BlockStep] = Field(default_factory=list, description="filters and mappers")
    generators: list[Generator] = Field(default_factory=list, description="text generators")
    dedup: list[Dedup] = Field(default_factory=list, description="dedup/decontamination steps")
    budget: Budget | None = Field(default=None, description="word budget (none: keep all)")
    curriculum: Curriculum = Field(default_factory=ShuffleCurriculum, description="output order")
    output: OutputConfig = Field(default_factory=OutputConfig, description="shard writing")

    _file: str | None = PrivateAttr(default=None)
    _lines: dict[Path_, int] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _steps_from_specs(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        converted, errors = convert_steps(data)
        if errors:
            raise RecipeError(errors)
        return converted

    @model_validator(mode="after")
    def _cross_checks(self) -> Recipe:
        names = [s.name for s in self.sources]
        problems = [
            ErrorItem(f"sources[{i}].name", f"duplicate source name {n!r}")
            for i, n in enumerate(names)
            if n in names[:i]
        ]
        for family in ("filters", "generators", "dedup"):
            for i, step in enumerate(getattr(self, family)):
                for wanted in step.only_sources or []:
                    if wanted not in names:
                        near = difflib.get_close_matches(wanted, names, n=1)
                        hint = f" (did you mean {near[0]}?)" if near else f" (sources: {names})"
                        problems.append(
                            ErrorItem(
                                f"{family}[{i}].only_sources", f"unknown source {wanted!r}{hint}"
                            )
                        )
        if problems:
            # RecipeError is not a ValueError, so pydantic lets it through unchanged.
            raise RecipeError(problems)
        return self

    def __eq__(self, other: object) -> bool:
        # Equal recipes describe the same corpus; where they were loaded from does not matter.
        return isinstance(other, Recipe) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, **data: Any):
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise RecipeError(_pydantic_items(exc, (), type(self))) from None

    # ----- construction -------------------------------------------------------------------
    @classmethod
    def from_dict(
        cls, data: Any, *, file: str | None = None, lines: dict[Path_, int] | None = None
    ) -> Recipe:
        """Validate a recipe mapping, reporting every problem with its location."""
        lines = lines or {}
        if not isinstance(data, dict):
            raise RecipeError([ErrorItem("", "a recipe must be a mapping of fields", 1)], file=file)
        converted, errors = convert_steps(data)
        try:
            # Recipe.__init__ turns pydantic's errors into a RecipeError (model_validate calls it).
            recipe = cls.model_validate(converted)
        except RecipeError as exc:
            # A family whose entries failed conversion was shortened; its follow-on errors
            # (e.g. "sources: too short") would only repeat the problem already reported.
            failed = {_top_field(e.path) for e in errors}
            errors.extend(item for item in exc.items if _top_field(item.path) not in failed)
            recipe = None
        if errors:
            located = [
                ErrorItem(e.path, e.message, line_of(lines, _parse_path(e.path))) for e in errors
            ]
            raise RecipeError(located, file=file)
        assert recipe is not None
        recipe._file, recipe._lines = file, lines
        return recipe

    @classmethod
    def from_yaml(cls, path: str | Path) -> Recipe:
        """Load and validate a recipe file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CorpuskitError(f"cannot read recipe {str(path)!r}: {exc.strerror}") from None
        data, lines = load_yaml_with_lines(text, str(path))
        return cls.from_dict(data, file=str(path), lines=lines)

    # ----- serialisation and identity -----------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The canonical mapping: every step as ``{kind, **params}`` with defaults filled."""
        out: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "seed": self.seed,
        }
        for family in LIST_FAMILIES:
            out[family] = [step.to_spec() for step in getattr(self, family)]
        out["budget"] = self.budget.to_spec() if self.budget is not None else None
        out["curriculum"] = self.curriculum.to_spec()
        out["output"] = self.output.model_dump(mode="json")
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @property
    def hash(self) -> str:
        """12 hex of sha256 over the canonical JSON (the ``description`` is left out)."""
        data = {k: v for k, v in self.to_dict().items() if k not in HASH_EXCLUDED}
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]

    @property
    def file(self) -> str | None:
        return self._file

    def with_budget(self, total: int) -> Recipe:
        """A copy with the budget total replaced (or a plain word budget added)."""
        data = self.to_dict()
        data["budget"] = {**(data["budget"] or {"kind": "words"}), "total": total}
        return Recipe.from_dict(data, file=self._file, lines=self._lines)

    # ----- checks that need the environment ----------------------------------------------
    def check(self, data_root: Path | None) -> None:
        """Check paths, optional dependencies and parameters without reading data."""
        ctx = CheckContext(data_root, Path(self._file).parent if self._file else None)
        items: list[ErrorItem] = []
        for path, step in self.steps():
            try:
                step.check(ctx)
                if isinstance(step, Source):
                    step.input_files(ctx)
            except CorpuskitError as exc:
                where = _parse_path(path)
                items.append(ErrorItem(path, exc.one_line(), line_of(self._lines, where)))
        # Budget quotas and curriculum stages name sources; check them before any data is read.
        from corpuskit.assemble import stage2_problems  # assemble imports recipe

        for problem in stage2_problems(self):
            where = _parse_path(problem.path)
            items.append(ErrorItem(problem.path, problem.message, line_of(self._lines, where)))
        if items:
            raise RecipeError(items, file=self._file)

    def steps(self) -> list[tuple[str, Step]]:
        """(field path, step) for every step in execution order."""
        out: list[tuple[str, Step]] = []
        for family in LIST_FAMILIES:
            out.extend((f"{family}[{i}]", s) for i, s in enumerate(getattr(self, family)))
        if self.budget is not None:
            out.append(("budget", self.budget))
        out.append(("curriculum", self.curriculum))
        return out

    def build(self, **kwargs: Any) -> Any:
        """Build this recipe (see ``corpuskit.build.build`` for the options)."""
        from corpuskit.build import build

        return build(self, **kwargs)


def convert_steps(data: dict[str, Any]) -> tuple[dict[str, Any], list[ErrorItem]]:
    """Turn ``{kind, **params}`` entries into step instances, collecting every error."""
    ensure_builtins_loaded()
    out = dict(data)
    errors: list[ErrorItem] = []
    for family in LIST_FAMILIES:
        entries = data.get(family)
        if entries is None:
            continue
        if not isinstance(entries, list):
            errors.append(ErrorItem(family, f"expected a list of {family} steps"))
            out.pop(family)
            continue
        out[family] = [
            step
            for i, entry in enumerate(entries)
            if (step := _convert_one(family, entry, (family, i), errors)) is not None
        ]
    for family in SINGLE_FAMILIES:
        if data.get(family) is not None:
            step = _convert_one(family, data[family], (family,), errors)
            if step is None:
                out.pop(family)
            else:
                out[family] = step
    if isinstance(out.get("sources"), list):
        out["sources"] = _fill_source_names(out["sources"])
    return out, errors


def _convert_one(family: str, entry: Any, where: Path_, errors: list[ErrorItem]) -> Step | None:
    if isinstance(entry, Step):
        return entry
    if not isinstance(entry, dict) or "kind" not in entry:
        errors.append(ErrorItem(format_path(where), "expected a mapping with a 'kind' field"))
        return None
    params = {k: v for k, v in entry.items() if k != "kind"}
    try:
        cls = registry(family).get(str(entry["kind"]))
    except CorpuskitError as exc:
        errors.append(ErrorItem(format_path((*where, "kind")), exc.one_line()))
        return None
    try:
        return cls.model_validate(params)  # type: ignore[attr-defined]
    except ValidationError as exc:
        errors.extend(_pydantic_items(exc, where, cls))
        return None
    except CorpuskitError as exc:  # e.g. a missing optional dependency found at construction
        errors.append(ErrorItem(format_path(where), exc.one_line()))
        return None


def _fill_source_names(sources: list[Any]) -> list[Any]:
    """Unnamed sources are called by their kind (``text``, ``text_2`` for a second one)."""
    out = []
    seen: dict[str, int] = {}
    for source in sources:
        if isinstance(source, Source) and not source.name:
            seen[source.kind] = seen.get(source.kind, 0) + 1
            suffix = "" if seen[source.kind] == 1 else f"_{seen[source.kind]}"
            source = source.model_copy(update={"name": f"{source.kind}{suffix}"})
        out.append(source)
    return out


def _pydantic_items(exc: ValidationError, where: Path_, model: Any) -> list[ErrorItem]:
    items = []
    for err in exc.errors():
        loc: Path_ = (*where, *err["loc"])
        if err["type"] == "extra_forbidden":
            known = list(getattr(model, "model_fields", {}))
            near = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
            hint = f" (did you mean {near[0]}?)" if near else f" (known fields: {', '.join(known)})"
            message = f"unknown field{hint}"
        elif err["type"] == "missing":
            message = "required field is missing"
        else:
            message = f"{err['msg']} (got {err.get('input')!r})"
        items.append(ErrorItem(format_path(loc), message))
    return items


def _top_field(path: str) -> str:
    return path.split("[")[0].split(".")[0]


def _parse_path(text: str) -> Path_:
    """Inverse of ``format_path`` (``filters[1].min_words`` → ("filters", 1, "min_words"))."""
    out: list[str | int] = []
    for part in text.replace("[", ".[").split("."):
        if not part:
            continue
        out.append(int(part[1:-1]) if part.startswith("[") else part)
    return tuple(out)
