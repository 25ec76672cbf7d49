"""``check_filter``: run the property checks every filter must pass, with readable failures.

Properties (each a hypothesis test over batches of documents):

- ``never_raises``: ``keep`` and ``drop_reasons_block`` return on any input;
- ``declared_reasons``: every reason is in the filter's ``drop_reasons``; ``keep`` returns a
  bool or ``Drop``;
- ``deterministic``: the same input (and an equal copy of the filter) gives the same reasons;
- ``pure``: judging does not change the documents (text, id, source, meta);
- ``consistent``: ``keep(doc)`` agrees with the block path for every document;
- ``order_independent``: a document's verdict does not depend on its batch or its position;
- ``only_removes``: ``process`` returns exactly the kept input rows, unchanged and in order,
  and rejects exactly the others with their reasons;
- ``monotone`` (declared per parameter): a stricter threshold never keeps more.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from pydantic import ValidationError

from corpuskit.document import Document, docs_to_block
from corpuskit.filters.base import Filter, as_string_array
from corpuskit.step import Drop, RunContext
from corpuskit.testing.strategies import any_documents

Direction = Literal["higher_is_stricter", "lower_is_stricter"]
PROPERTIES = (
    "never_raises",
    "declared_reasons",
    "deterministic",
    "pure",
    "consistent",
    "order_independent",
    "only_removes",
)


class FilterCheckError(AssertionError):
    """A filter broke a property; the message names it and shows the smallest failing input."""


class _ViolationError(Exception):
    def __init__(self, prop: str, message: str, docs: Sequence[Document]):
        super().__init__(f"{prop}: {message}")
        self.prop, self.message, self.docs = prop, message, list(docs)


@dataclass
class FilterReport:
    """What ``check_filter`` ran: the properties and how many examples each saw."""

    step: str
    properties: list[str] = field(default_factory=list)
    examples: int = 0


def check_filter(
    step: Filter,
    *,
    monotone: Mapping[str, Direction] | None = None,
    docs: st.SearchStrategy[Document] | None = None,
    max_examples: int | None = None,
    values: Mapping[str, Sequence[Any]] | None = None,
) -> FilterReport:
    """Run every property check on ``step``; raise ``FilterCheckError`` on the first failure.

    Args:
        step: the filter instance to check (its parameters are part of what is checked).
        monotone: parameters whose threshold is monotone, e.g. ``{"min_words":
            "higher_is_stricter"}``. ``None`` counts as the loosest value.
        docs: the document strategy (default: unicode, English-like and dialogue documents).
        max_examples: examples per property (default: the loaded hypothesis profile).
        values: candidate values per monotone parameter (default: drawn around the current one).
    """
    strategy = st.lists(docs if docs is not None else any_documents(), min_size=1, max_size=6)
    config = check_settings(max_examples, [HealthCheck.too_slow, HealthCheck.filter_too_much])
    report = FilterReport(repr(step))
    checks: list[tuple[str, Callable[..., None], st.SearchStrategy[Any]]] = [
        ("properties", lambda batch: _properties(step, batch), strategy)
    ]
    for name, direction in (monotone or {}).items():
        pair = _value_pairs(step, name, values.get(name) if values else None)
        checks.append(
            (
                f"monotone[{name}]",
                lambda batch, ab, n=name, d=direction: _monotone(step, n, d, ab, batch),
                st.tuples(strategy, pair),
            )
        )
    for label, prop, strat in checks:
        _run(step, label, prop, strat, config)
        report.properties.append(label)
        report.examples += config.max_examples
    report.properties = [*PROPERTIES, *report.properties[1:]]
    return report


def check_settings(max_examples: int | None, suppress: list[HealthCheck]) -> settings:
    """The loaded hypothesis profile, without deadline or explain phase (slow, unused here)."""
    parent = settings.default
    assert parent is not None
    return settings(
        parent,
        deadline=None,
        # the explain phase re-runs the property hundreds of times for a note we do not show
        phases=[p for p in parent.phases if p != Phase.explain],
        suppress_health_check=suppress,
        max_examples=max_examples or parent.max_examples,
    )


def _run(
    step: Filter,
    label: str,
    prop: Callable[..., None],
    strategy: st.SearchStrategy[Any],
    config: settings,
) -> None:
    @config
    @given(strategy)
    def run(example: Any) -> None:
        if isinstance(example, tuple):
            prop(*example)
        else:
            prop(example)

    try:
        run()
    except _ViolationError as exc:
        shown = "\n".join(f"    {_show(d)}" for d in exc.docs)
        raise FilterCheckError(
            f"check_filter({step!r}) failed property '{exc.prop}': {exc.message}\n"
            f"  smallest failing batch:\n{shown}"
        ) from None
    except Flaky as exc:
        raise FilterCheckError(
            f"check_filter({step!r}) failed property 'deterministic' ({label}): the same input "
            f"gave different results on different runs ({type(exc).__name__})"
        ) from None


def _show(doc: Document) -> str:
    text = doc.text if len(doc.text) <= 120 else doc.text[:117] + "..."
    return f"Document(id={doc.id!r}, text={text!r}, source={doc.source!r}, meta={doc.meta!r})"


def _reasons(step: Filter, docs: Sequence[Document], prop: str) -> list[str | None]:
    try:
        raw = step.drop_reasons_block(docs_to_block(docs))
        reasons: list[str | None] = as_string_array(raw).to_pylist()
    except Exception as exc:
        raise _ViolationError(prop, f"drop_reasons_block raised {exc!r}", docs) from exc
    if len(reasons) != len(docs):
        raise _ViolationError(prop, f"{len(reasons)} reasons for {len(docs)} documents", docs)
    return reasons


def _keep_reason(step: Filter, doc: Document) -> str | None:
    try:
        verdict = step.keep(doc)
    except Exception as exc:
        raise _ViolationError("never_raises", f"keep() raised {exc!r}", [doc]) from exc
    if verdict is True:
        return None
    if isinstance(verdict, Drop):
        return verdict.reason
    raise _ViolationError(
        "declared_reasons", f"keep() returned {verdict!r}; expected True or Drop(reason)", [doc]
    )


def _snapshot(doc: Document) -> tuple[Any, ...]:
    return (doc.id, doc.text, doc.source, copy.deepcopy(dict(doc.meta)))


def _properties(step: Filter, batch: list[Document]) -> None:
    before = [_snapshot(d) for d in batch]
    reasons = _reasons(step, batch, "never_raises")
    singles = [_keep_reason(step, d) for d in batch]
    for doc, old in zip(batch, before, strict=True):
        if _snapshot(doc) != old:
            raise _ViolationError("pure", f"judging changed the document (was {old!r})", [doc])
    declared = set(step.drop_reasons)
    for path, found in (("drop_reasons_block", reasons), ("keep", singles)):
        for doc, reason in zip(batch, found, strict=True):
            if reason is not None and reason not in declared:
                raise _ViolationError(
                    "declared_reasons",
                    f"{path} gave reason {reason!r}, which is not in drop_reasons "
                    f"{tuple(step.drop_reasons)}",
                    [doc],
                )
    again = _reasons(type(step).model_validate(step.model_dump()), batch, "deterministic")
    if again != reasons:
        raise _ViolationError("deterministic", f"reasons {reasons} then {again}", batch)
    for doc, block_reason, single in zip(batch, reasons, singles, strict=True):
        if block_reason != single:
            raise _ViolationError(
                "consistent", f"keep() says {single!r}, the block path {block_reason!r}", [doc]
            )
    alone = [_reasons(step, [d], "order_independent")[0] for d in batch]
    reverse = _reasons(step, batch[::-1], "order_independent")[::-1]
    if alone != reasons or reverse != reasons:
        raise _ViolationError(
            "order_independent",
            f"in a batch {reasons}, alone {alone}, reversed batch {reverse}",
            batch,
        )
    _only_removes(step, batch, reasons)


def _only_removes(step: Filter, batch: list[Document], reasons: list[str | None]) -> None:
    block = docs_to_block(batch)
    ctx = RunContext(seed=0)
    try:
        out = step.process(block, ctx, "check")
    except Exception as exc:
        raise _ViolationError("never_raises", f"process() raised {exc!r}", batch) from exc
    kept = block.filter(pa.array([r is None for r in reasons]))
    if not out.equals(kept):
        raise _ViolationError(
            "only_removes",
            f"process() returned {out.select(['id', 'text']).to_pylist()} instead of the kept "
            f"rows {kept.select(['id', 'text']).to_pylist()} unchanged",
            batch,
        )
    rejected = pa.concat_tables(ctx.rejects).to_pylist() if ctx.rejects else []
    expected = [(d.id, r) for d, r in zip(batch, reasons, strict=True) if r is not None]
    if [(r["id"], r["reason"]) for r in rejected] != expected:
        raise _ViolationError("only_removes", f"rejects {rejected} instead of {expected}", batch)


def _value_pairs(step: Filter, name: str, given_values: Sequence[Any] | None) -> Any:
    if name not in type(step).model_fields:
        raise ValueError(f"{type(step).__name__} has no parameter {name!r} to check as monotone")
    current = getattr(step, name)
    if given_values is not None:
        candidates = st.sampled_from(list(given_values))
    elif isinstance(current, bool):
        raise ValueError(f"parameter {name!r} is a bool; give values= for it")
    elif isinstance(current, int) or (current is None and _is_int(step, name)):
        top = max(int(current or 0) * 3, 20)
        candidates = st.one_of(st.none(), st.integers(0, top))
    else:
        ceiling = max(float(current or 0) * 3, 1.0)
        candidates = st.one_of(
            st.none(), st.floats(0, ceiling, allow_nan=False), st.sampled_from([0.0, 0.5, 1.0])
        )
    return st.tuples(candidates, candidates)


def _is_int(step: Filter, name: str) -> bool:
    return "int" in str(type(step).model_fields[name].annotation)


def _monotone(
    step: Filter, name: str, direction: Direction, pair: tuple[Any, Any], batch: list[Document]
) -> None:
    def strictness(value: Any) -> float:
        if value is None:  # None (no limit) is the loosest value in either direction
            return float("-inf")
        return float(value) if direction == "higher_is_stricter" else -float(value)

    loose, strict = sorted(pair, key=strictness)
    variants = []
    for value in (strict, loose):
        try:
            variants.append(type(step).model_validate({**step.model_dump(), name: value}))
        except ValidationError:
            assume(False)
    strict_reasons = _reasons(variants[0], batch, "never_raises")
    loose_reasons = _reasons(variants[1], batch, "never_raises")
    for doc, s, lo in zip(batch, strict_reasons, loose_reasons, strict=True):
        if s is None and lo is not None:
            raise _ViolationError(
                f"monotone[{name}]",
                f"{name}={strict!r} keeps a document that the looser {name}={loose!r} drops "
                f"({lo!r}); declared {direction}",
                [doc],
            )
