"""The attrition ledger: documents and words in/out per source and per step, drops per reason."""

from __future__ import annotations

from collections import Counter
from typing import Any

from corpuskit.pipeline import block_step_labels, labelled
from corpuskit.recipe import Recipe


def _dropped(stats: Counter[str], label: str) -> dict[str, dict[str, int]]:
    prefix = f"{label}.dropped."
    out: dict[str, dict[str, int]] = {}
    for key, value in stats.items():
        if key.startswith(prefix):
            reason, _, unit = key[len(prefix) :].rpartition(".")
            out.setdefault(reason, {"docs": 0, "words": 0})[unit] = value
    return dict(sorted(out.items()))


def build_ledger(recipe: Recipe, stats: Counter[str]) -> list[dict[str, Any]]:
    """One row per step in execution order (sources first), from the merged counters."""
    rows: list[dict[str, Any]] = []
    for source in recipe.sources:
        rows.append(
            {
                "step": source.name,
                "family": "sources",
                "kind": source.kind,
                "docs_in": stats[f"{source.name}.docs_out"] + _sum(_dropped(stats, source.name)),
                "words_in": stats[f"{source.name}.words_out"]
                + _sum(_dropped(stats, source.name), "words"),
                "docs_out": stats[f"{source.name}.docs_out"],
                "words_out": stats[f"{source.name}.words_out"],
                "dropped": _dropped(stats, source.name),
            }
        )
    steps: list[tuple[str, Any]] = list(block_step_labels(recipe))
    steps += labelled(list(recipe.dedup))
    if recipe.budget is not None:
        steps.append((recipe.budget.kind, recipe.budget))
    for label, step in steps:
        rows.append(
            {
                "step": label,
                "family": step.family,
                "kind": step.kind,
                "docs_in": stats[f"{label}.docs_in"],
                "words_in": stats[f"{label}.words_in"],
                "docs_out": stats[f"{label}.docs_out"],
                "words_out": stats[f"{label}.words_out"],
                "dropped": _dropped(stats, label),
                "counters": counters(stats, label),
            }
        )
    return rows


def _sum(dropped: dict[str, dict[str, int]], unit: str = "docs") -> int:
    return sum(v[unit] for v in dropped.values())


def counters(stats: Counter[str], label: str) -> dict[str, int]:
    """Free-form counters a step recorded under its label (e.g. generator requests)."""
    prefix = f"{label}."
    skip = ("docs_in", "docs_out", "words_in", "words_out")
    return {
        k[len(prefix) :]: v
        for k, v in sorted(stats.items())
        if k.startswith(prefix) and ".dropped." not in k and k[len(prefix) :] not in skip
    }
