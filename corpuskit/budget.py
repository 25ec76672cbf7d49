"""Word budgets (family ``budget``): exact, deterministic selection of documents by words.

A budget is a hard invariant: selected words ≤ ``total``. Selection walks the documents in a seeded
hash order of their ids (never arrival order), so the corpus depends only on the recipe and the
inputs. The walk takes the longest prefix that fits, then fills the remainder with later documents
that still fit; with documents that are small relative to the budget this reaches ≥ 99.9% of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field

from corpuskit.errors import BudgetError
from corpuskit.hashing import hash_order
from corpuskit.step import RunContext, Step


@dataclass
class Selection:
    """Rows chosen by a budget, in selection order, with a report for the manifest."""

    indices: np.ndarray
    report: dict[str, Any] = field(default_factory=dict)


class Budget(Step):
    """Base of budgets: ``select(table, ctx)`` returns the chosen rows."""

    family: ClassVar[str] = "budget"

    def select(self, table: pa.Table, ctx: RunContext) -> Selection:
        raise NotImplementedError


def fill_in_order(words: np.ndarray, order: np.ndarray, total: int) -> np.ndarray:
    """Indices from ``order`` summing to ≤ total: the longest prefix, then later ones that fit."""
    cumulative = np.cumsum(words[order])
    prefix_len = int(np.searchsorted(cumulative, total, side="right"))
    chosen = [order[:prefix_len]]
    used = int(cumulative[prefix_len - 1]) if prefix_len else 0
    if prefix_len < len(order) and used < total:
        tail: list[int] = []
        for index in order[prefix_len:]:
            w = int(words[index])
            if used + w <= total:
                tail.append(int(index))
                used += w
                if used == total:
                    break
        chosen.append(np.asarray(tail, dtype=np.int64))
    return np.concatenate(chosen).astype(np.int64)


class WordBudget(Budget, kind="words"):
    """At most ``total`` words, chosen in seeded hash order; ≥ 99.9% of it when inputs suffice."""

    total: int = Field(gt=0, description="the word budget (BabyLM: 10_000_000 strict-small)")
    on_short: Literal["error", "warn"] = Field(
        default="warn", description="when inputs hold fewer words than total: fail, or use them all"
    )

    def select(self, table: pa.Table, ctx: RunContext) -> Selection:
        words = table["words"].to_numpy()
        available = int(words.sum())
        if available < self.total and self.on_short == "error":
            raise BudgetError(
                f"budget of {self.total:,} words cannot be met: the filtered inputs hold "
                f"{available:,} words",
                hint="lower budget.total, add sources, or set budget.on_short: warn",
            )
        order = hash_order(table["id"], ctx.seed, salt="budget")
        chosen = fill_in_order(words, order, self.total)
        selected = int(words[chosen].sum())
        return Selection(
            chosen,
            {"total": self.total, "available": available, "selected": selected},
        )
