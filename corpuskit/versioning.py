"""Versioned builds: list the builds under an output root, and explain how two builds differ.

A build lives at ``out/<name>/<recipe hash>/`` and its manifest holds the canonical recipe, so a
diff needs nothing but the two build directories: the recipe fields that changed, the words per
source, and the documents added, removed or changed (same id, different text: e.g. the boundary
document of a budget cut at another length), with samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from corpuskit.errors import InputError
from corpuskit.hashing import hash_order
from corpuskit.shards import MANIFEST, Build, open_build

SNIPPET = 160


@dataclass(frozen=True)
class BuildInfo:
    """One row of ``ls-builds``."""

    path: Path
    name: str
    recipe_hash: str
    version: Any
    docs: int
    words: int
    built_at: str
    budget: int | None
    sources: list[str]
    description: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "path": str(self.path)}


def list_builds(out: str | Path = "out") -> list[BuildInfo]:
    """Builds under ``out`` (``out/<name>/<hash>``), or ``out`` itself if it is one or a name dir.

    Sorted by name, then newest first. Temporary and work directories (``.tmp-*``, ``.work-*``)
    are skipped.
    """
    root = Path(out)
    if not root.is_dir():
        raise InputError(f"{root} is not a directory", hint="pass the --out root of your builds")
    candidates = [root / MANIFEST, *root.glob(f"*/{MANIFEST}"), *root.glob(f"*/*/{MANIFEST}")]
    builds = []
    for manifest in sorted(set(candidates)):
        if not manifest.is_file() or any(
            p.startswith(".") for p in manifest.relative_to(root).parts
        ):
            continue
        m = open_build(manifest.parent).manifest
        budget = (m.get("budget") or {}).get("total")
        builds.append(
            BuildInfo(
                path=manifest.parent,
                name=m["name"],
                recipe_hash=m["recipe_hash"],
                version=m["recipe"].get("version"),
                docs=m["totals"]["docs"],
                words=m["totals"]["words"],
                built_at=m.get("built_at", ""),
                budget=budget,
                sources=[s["name"] for s in m.get("sources", [])],
                description=m["recipe"].get("description", ""),
            )
        )
    builds.sort(key=lambda b: b.built_at, reverse=True)
    return sorted(builds, key=lambda b: b.name)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to leaves: ``{"budget": {"total": 5}}`` -> ``{"budget.total": 5}``."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def recipe_changes(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field path, value in A, value in B) for every recipe field that differs."""
    fa, fb = flatten(a), flatten(b)
    missing = object()
    changes = []
    for path in sorted(set(fa) | set(fb)):
        va, vb = fa.get(path, missing), fb.get(path, missing)
        if va != vb:
            changes.append((path, None if va is missing else va, None if vb is missing else vb))
    return changes


@dataclass
class BuildDiff:
    """How build B differs from build A."""

    a: Path
    b: Path
    hashes: tuple[str, str]
    recipe: list[tuple[str, Any, Any]]
    words_by_source: dict[str, tuple[int, int]]
    totals: dict[str, tuple[int, int]]
    added: int
    removed: int
    changed: int
    common: int
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": str(self.a),
            "b": str(self.b),
            "hashes": list(self.hashes),
            "recipe": [{"field": p, "a": va, "b": vb} for p, va, vb in self.recipe],
            "words_by_source": {k: list(v) for k, v in self.words_by_source.items()},
            "totals": {k: list(v) for k, v in self.totals.items()},
            "documents": {
                "added": self.added,
                "removed": self.removed,
                "changed": self.changed,
                "common": self.common,
            },
            "samples": self.samples,
        }


def _sample(table: pa.Table, n: int) -> list[dict[str, Any]]:
    """``n`` rows in a seeded hash order of ids (a fair, stable sample)."""
    if table.num_rows == 0 or n <= 0:
        return []
    rows = table.take(pa.array(hash_order(table["id"], 0, salt="diff")[:n], pa.int64()))
    return [
        {
            "id": r["id"],
            "source": r["source"],
            "words": r["words"],
            "text": r["text"] if len(r["text"]) <= SNIPPET else r["text"][:SNIPPET] + "…",
        }
        for r in rows.select(["id", "source", "words", "text"]).to_pylist()
    ]


def diff_builds(a: str | Path | Build, b: str | Path | Build, *, samples: int = 3) -> BuildDiff:
    """Compare two builds: recipe fields, words per source, documents added/removed/changed."""
    ba = a if isinstance(a, Build) else open_build(a)
    bb = b if isinstance(b, Build) else open_build(b)
    ma, mb = ba.manifest, bb.manifest
    wa = {s["name"]: s["words_out"] for s in ma.get("sources", [])}
    wb = {s["name"]: s["words_out"] for s in mb.get("sources", [])}
    words = {k: (wa.get(k, 0), wb.get(k, 0)) for k in [*wa, *(k for k in wb if k not in wa)]}
    columns = ["id", "source", "words", "text"]
    ta, tb = ba.table(columns=columns), bb.table(columns=columns)
    in_a = pc.is_in(tb["id"], value_set=ta["id"].combine_chunks())
    in_b = pc.is_in(ta["id"], value_set=tb["id"].combine_chunks())
    added, removed = tb.filter(pc.invert(in_a)), ta.filter(pc.invert(in_b))
    joined = ta.filter(in_b).join(tb.filter(in_a), "id", right_suffix="_b")
    changed = joined.filter(pc.not_equal(joined["text"], joined["text_b"]))
    return BuildDiff(
        a=ba.path,
        b=bb.path,
        hashes=(ma["recipe_hash"], mb["recipe_hash"]),
        recipe=recipe_changes(ma["recipe"], mb["recipe"]),
        words_by_source=words,
        totals={k: (ma["totals"][k], mb["totals"][k]) for k in ("docs", "words")},
        added=added.num_rows,
        removed=removed.num_rows,
        changed=changed.num_rows,
        common=joined.num_rows,
        samples={
            "added": _sample(added, samples),
            "removed": _sample(removed, samples),
            "changed": _sample(changed.select(columns), samples),
        },
    )
