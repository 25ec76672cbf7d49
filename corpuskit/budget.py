"""Word budgets (family ``budget``): exact, nested, deterministic selection of documents by words.

The rules, each stated as a property in ``tests/budget``:

- Quotas. ``quotas`` maps a source (or a ``groups`` entry naming several sources) to absolute
  words (ints) or to proportions of ``total`` (floats summing to 1). Generated documents keep their
  seed's ``source``, so they count against that source's quota.
- Order. The documents of each quota key are walked in a seeded hash order of their ids, and the
  selection is the longest prefix that fits the quota. A larger budget walks further along the same
  order, so a 10M selection is a prefix of the 100M one (nested budgets); neither arrival order nor
  worker count plays a part. (The foundation's "prefix, then fill with later documents that fit"
  reached the budget more often but broke nesting: with words [5, 1], budget 1 took the second
  document and budget 5 only the first.)
- The boundary. The first document that does not fit is cut to the words left (``truncate: word``,
  the default, so quotas are met exactly), at the last sentence end that fits (``sentence``), or
  left out (``none``: short by less than one document). Its meta records ``truncated``.
- Proportions become words by Jefferson (D'Hondt) apportionment: floors first, then the few words
  left over one at a time to the key with the largest ``share / (quota + 1)``. Unlike largest
  remainders, it never lowers a quota when the total grows (no Alabama paradox), which nesting
  needs.
- Upsampling is explicit: ``max_epochs: {key: k}`` lets a key walk its order up to ``k`` times;
  pass ``e > 1`` gives ids ``<id>#rep<e>``. The report records epochs per key.
- Short keys (``on_short``): ``error`` names the key, its words and the words needed;
  ``redistribute`` gives the shortfall to the other keys in proportion to their shares
  (water-filling), stated in the report; ``warn`` keeps what there is. Default: ``error`` with
  quotas, ``warn`` for a plain total.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, ClassVar, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from corpuskit.document import BLOCK_SCHEMA, block_from_columns
from corpuskit.errors import BudgetError
from corpuskit.hashing import hash_keys
from corpuskit.step import RunContext, Step
from corpuskit.tally import column_values
from corpuskit.words import count_words

ALL = "*"  # the one quota key of a budget without quotas
_WORD = re.compile(r"\S+")  # \S is the complement of str.isspace(), as count_words uses
_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*$")


@dataclass
class Selection:
    """What a budget chose: row ``indices``, or (a budget that cuts or repeats) the ``table``."""

    indices: np.ndarray
    report: dict[str, Any] = field(default_factory=dict)
    table: pa.Table | None = None

    def apply(self, table: pa.Table) -> pa.Table:
        if self.table is not None:
            return self.table
        return table.take(pa.array(self.indices, pa.int64()))


class Budget(Step):
    """Base of budgets: ``select(table, ctx)`` returns the chosen rows."""

    family: ClassVar[str] = "budget"

    def select(self, table: pa.Table, ctx: RunContext) -> Selection:
        raise NotImplementedError


def ordered_head(
    keys: np.ndarray, words: np.ndarray, members: np.ndarray, quota: int
) -> np.ndarray:
    """``members`` sorted by ``keys``, cut after the first row that no longer fits ``quota``.

    Equal to the head of a full sort (ties by row), without sorting rows the budget never
    reaches: the keys are uniform, so rows below a threshold a little above the needed share
    are enough; the threshold doubles until they hold more than ``quota`` words.
    """
    available = int(words[members].sum())
    share = 1.5 * quota / available + 1e-3 if available else 1.0
    while True:
        limit = np.uint64(min(share * 2.0**64, 2.0**64 - 4096))
        head = members if share >= 1 else members[keys[members] < limit]
        head = head[np.argsort(keys[head], kind="stable")]
        if len(head) == len(members) or int(words[head].sum()) > quota:
            return head
        share *= 2


def take_prefix(words: np.ndarray, order: np.ndarray, total: int) -> np.ndarray:
    """The longest prefix of ``order`` whose words sum to ≤ ``total`` (the nested-budget rule)."""
    cumulative = np.cumsum(words[order])
    return order[: int(np.searchsorted(cumulative, total, side="right"))].astype(np.int64)


def apportion(total: int, shares: Sequence[Fraction]) -> list[int]:
    """Integer quotas summing to ``total`` by Jefferson/D'Hondt (house-monotone)."""
    quotas = [math.floor(s * total) for s in shares]
    for _ in range(total - sum(quotas)):  # fewer than len(shares) words are left over
        best = max(range(len(shares)), key=lambda k: (shares[k] / (quotas[k] + 1), -k))
        quotas[best] += 1
    return quotas


def cut_text(text: str, limit: int, mode: str) -> str:
    """The longest head of ``text`` with ≤ ``limit`` words, ending at a word or sentence end."""
    ends = [m.end() for m in _WORD.finditer(text)][:limit]
    if mode == "sentence":
        ends = [e for e in ends if _SENTENCE_END.search(text[:e]) or text[e : e + 1] == "\n"]
    return text[: ends[-1]] if ends else ""


class WordBudget(Budget, kind="words"):
    """At most ``total`` words, per-source quotas met exactly, selected in seeded hash order."""

    total: int | None = Field(
        default=None, gt=0, description="the word budget (BabyLM: 10_000_000 strict-small)"
    )
    quotas: dict[str, int | float] = Field(
        default_factory=dict,
        description="source or group -> words (ints) or share of total (floats summing to 1)",
    )
    groups: dict[str, list[str]] = Field(
        default_factory=dict, description="quota keys that pool several sources"
    )
    truncate: Literal["word", "sentence", "none"] = Field(
        default="word",
        description="cut the boundary document at a word (exact), at a sentence end, or not at all",
    )
    on_short: Literal["error", "redistribute", "warn"] | None = Field(
        default=None,
        description="a key short of its quota: fail, give its shortfall to the others in "
        "proportion, or keep what there is (default: error with quotas, else warn)",
    )
    max_epochs: dict[str, int] = Field(
        default_factory=dict, description="quota key -> passes allowed to fill it (upsampling)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> WordBudget:
        kinds = {type(v) for v in self.quotas.values()}
        if len(kinds) > 1:
            raise ValueError("quotas mix words (ints) and shares (floats); use one kind")
        if any(v < 0 for v in self.quotas.values()):
            raise ValueError("quotas must be ≥ 0")
        if kinds == {float}:
            if self.total is None:
                raise ValueError("quotas given as shares need a total")
            if abs(sum(self.quotas.values()) - 1) > 1e-6:
                raise ValueError(f"quota shares sum to {sum(self.quotas.values())}, not 1")
        elif kinds == {int}:
            words = sum(int(v) for v in self.quotas.values())
            if self.total is not None and self.total != words:
                raise ValueError(f"quotas sum to {words:,} words but total is {self.total:,}")
            if words == 0:
                raise ValueError("quotas sum to 0 words")
        elif self.total is None:
            raise ValueError("a word budget needs a total or quotas")
        for key, epochs in self.max_epochs.items():
            if epochs < 1 or key not in (self.quotas or {ALL: 0}):
                raise ValueError(f"max_epochs[{key}]: needs a quota key and ≥ 1 passes")
        for group in self.groups:
            if group not in self.quotas:
                raise ValueError(f"groups[{group}] has no quota")
        return self

    # ----- quotas -------------------------------------------------------------------------
    @property
    def budget_words(self) -> int:
        return self.total if self.total is not None else sum(int(v) for v in self.quotas.values())

    @property
    def policy(self) -> str:
        return self.on_short or ("error" if self.quotas else "warn")

    def keys(self) -> list[str]:
        return list(self.quotas) if self.quotas else [ALL]

    def shares(self) -> list[Fraction]:
        if not self.quotas:
            return [Fraction(1)]
        values = [Fraction(str(v)) for v in self.quotas.values()]
        return [v / sum(values) for v in values]

    def key_of_source(self) -> dict[str, str]:
        """Source name -> its quota key (a group, or the source itself)."""
        out = {src: group for group, members in self.groups.items() for src in members}
        return {**{k: k for k in self.quotas if k not in self.groups}, **out}

    def effective_quotas(self, capacity: Sequence[int]) -> tuple[list[int], list[str]]:
        """Quotas after the short policy, and the keys found short of their requested quota."""
        total, keys, shares = self.budget_words, self.keys(), self.shares()
        requested = apportion(total, shares)
        short = [k for k, cap, q in zip(keys, capacity, requested, strict=True) if cap < q]
        if not short:
            return requested, []
        if self.policy == "error":
            raise BudgetError(self._short_message(short, capacity, requested), hint=SHORT_HINT)
        if self.policy == "warn" or len(keys) == 1:
            return [min(c, q) for c, q in zip(capacity, requested, strict=True)], short
        fixed: dict[int, int] = {}
        while True:  # water-filling: a key that cannot take its share keeps all it has
            free = [k for k in range(len(keys)) if k not in fixed]
            left = total - sum(fixed.values())
            if not free:
                break
            free_shares = [shares[k] for k in free]
            norm = sum(free_shares) or Fraction(1)
            quota = dict(zip(free, apportion(left, [s / norm for s in free_shares]), strict=True))
            newly = [k for k in free if capacity[k] < quota[k]]
            if not newly:
                fixed.update(quota)
                break
            fixed.update({k: capacity[k] for k in newly})
        return [fixed[k] for k in range(len(keys))], short

    def _noun(self, key: str) -> str:
        return "group" if key in self.groups else "source"

    def _short_message(self, short: list[str], capacity: Sequence[int], wanted: list[int]) -> str:
        keys = self.keys()
        parts = []
        for key in short:
            k = keys.index(key)
            epochs = self.max_epochs.get(key, 1)
            what = "the inputs" if key == ALL else f"{self._noun(key)} {key!r}"
            passes = f" over {epochs} passes" if epochs > 1 else ""
            parts.append(
                f"{what} cannot fill its quota: it holds {capacity[k] // epochs:,} words after "
                f"filters and dedup{passes} and needs {wanted[k]:,}"
            )
        return "; ".join(parts)

    # ----- selection ----------------------------------------------------------------------
    def select(self, table: pa.Table, ctx: RunContext) -> Selection:
        words = column_values(table["words"])
        keys = self.keys()
        key_index = self._row_keys(table, keys)
        available = [int(words[key_index == k].sum()) for k in range(len(keys))]
        capacity = [a * self.max_epochs.get(key, 1) for key, a in zip(keys, available, strict=True)]
        quotas, short = self.effective_quotas(capacity)
        if short:
            ctx.logger.warning("budget short (%s): %s", self.policy, ", ".join(short))
        hashed = hash_keys(table["id"], ctx.seed, salt="budget")
        parts, per_key = [], {}
        requested = apportion(self.budget_words, self.shares())
        for k, key in enumerate(keys):
            rows = ordered_head(hashed, words, np.flatnonzero(key_index == k), quotas[k])
            epochs = self.max_epochs.get(key, 1)
            part, info = self._fill(table, rows, words, quotas[k], epochs, available[k])
            parts.append(part)
            per_key[key] = {
                "requested": requested[k],
                "quota": quotas[k],
                "available": available[k],
            }
            per_key[key].update(info)
        out = pa.concat_tables(parts) if parts else BLOCK_SCHEMA.empty_table()
        selected = int(pc.sum(out["words"]).as_py() or 0)
        report: dict[str, Any] = {"kind": self.kind, "total": self.budget_words}
        report.update(available=int(words.sum()), selected=selected, truncate=self.truncate)
        report.update(on_short=self.policy, short=short, keys=per_key, groups=self.groups)
        return Selection(np.empty(0, np.int64), report, out)

    def _row_keys(self, table: pa.Table, keys: list[str]) -> np.ndarray:
        """Index into ``keys`` of every row (all rows are key 0 without quotas)."""
        if not self.quotas:
            return np.zeros(table.num_rows, dtype=np.int64)
        mapping = self.key_of_source()
        sources = table["source"].combine_chunks() if table.num_rows else pa.array([], pa.string())
        names = sorted(set(sources.unique().to_pylist()))
        unknown = [n for n in names if n not in mapping]
        if unknown:
            raise BudgetError(
                f"documents of source(s) {unknown} have no quota",
                hint="give every source a quota (0 leaves it out), or pool it in budget.groups",
            )
        lookup = pa.array(names, pa.string())
        code = pc.index_in(sources, value_set=lookup).to_numpy(zero_copy_only=False)
        return np.array([keys.index(mapping[n]) for n in names], dtype=np.int64)[code]

    def _fill(
        self,
        table: pa.Table,
        rows: np.ndarray,
        words: np.ndarray,
        quota: int,
        epochs: int,
        available: int,
    ) -> tuple[pa.Table, dict[str, Any]]:
        """The longest prefix of ``rows`` (repeated up to ``epochs`` times) within ``quota``.

        ``rows`` is the head of the key's hash order (all of it when passes are repeated).
        """
        passes = 1
        if epochs > 1 and available:
            passes = min(epochs, -(-quota // available))
        walk = np.tile(rows, passes)
        chosen = take_prefix(words, walk, quota)
        used = int(words[chosen].sum())
        parts = []
        pass_of = np.arange(len(chosen)) // max(len(rows), 1) + 1
        for e in range(1, passes + 1):
            block = table.take(pa.array(chosen[pass_of == e], pa.int64()))
            if e > 1:
                block = block.set_column(
                    0, "id", pc.binary_join_element_wise(block["id"], pa.scalar(f"#rep{e}"), "")
                )
            parts.append(block.cast(BLOCK_SCHEMA))
        info: dict[str, Any] = {"truncated": None}
        if used < quota and len(chosen) < len(walk) and self.truncate != "none":
            rep = len(chosen) // max(len(rows), 1) + 1
            cut = self._cut(table, int(walk[len(chosen)]), quota - used, rep)
            if cut is not None:
                parts.append(cut[0])
                used += cut[1]["words"]
                info["truncated"] = cut[1]
        info.update(
            selected=used,
            docs=len(chosen) + (info["truncated"] is not None),
            epochs=round(used / available, 6) if available else 0.0,
            repeated_words=max(0, used - available),
        )
        return pa.concat_tables(parts).cast(BLOCK_SCHEMA), info

    def _cut(
        self, table: pa.Table, row: int, limit: int, rep: int
    ) -> tuple[pa.Table, dict[str, Any]] | None:
        doc = table.slice(row, 1).to_pylist()[0]
        text = cut_text(doc["text"], limit, self.truncate)
        kept = count_words(text)
        if kept == 0:
            return None
        doc_id = doc["id"] if rep == 1 else f"{doc['id']}#rep{rep}"
        meta = json.loads(doc["meta"] or "{}")
        meta["truncated"] = {"words": kept, "of": int(doc["words"])}
        block = block_from_columns(
            [doc_id],
            [text],
            doc["source"],
            [json.dumps(meta, sort_keys=True, ensure_ascii=False, separators=(",", ":"))],
        )
        return block, {"id": doc_id, "words": kept, "of": int(doc["words"])}


SHORT_HINT = (
    "lower the quota, allow upsampling with budget.max_epochs, or set budget.on_short to "
    "redistribute (or warn)"
)
