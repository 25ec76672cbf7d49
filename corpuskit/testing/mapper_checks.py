"""``check_mapper``: property checks for mappers (document rewriters).

- ``never_raises`` on any input; ``deterministic``;
- ``words_recounted``: the words column equals ``count_words`` of the new text;
- ``keeps_rows``: a one-to-one mapper keeps ids, sources and order; a splitting mapper
  (``splits=True``) gives ids ``<id>#<k>`` in input order, and rejects what it drops.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from corpuskit.document import Document, docs_to_block
from corpuskit.filters.base import Mapper
from corpuskit.step import RunContext
from corpuskit.testing.checks import check_settings
from corpuskit.testing.strategies import any_documents
from corpuskit.words import count_words


class MapperCheckError(AssertionError):
    """A mapper broke a property; the message names it and shows the failing input."""


def check_mapper(
    step: Mapper,
    *,
    splits: bool = False,
    docs: st.SearchStrategy[Document] | None = None,
    max_examples: int | None = None,
) -> None:
    """Run the mapper properties on ``step``; raise ``MapperCheckError`` on a failure."""
    config = check_settings(max_examples, [HealthCheck.too_slow])

    @config
    @given(st.lists(docs if docs is not None else any_documents(), min_size=1, max_size=6))
    def run(batch: list[Document]) -> None:
        _check(step, batch, splits)

    run()


def _fail(step: Mapper, prop: str, message: str, batch: list[Document]) -> MapperCheckError:
    shown = "\n".join(f"    {d!r}" for d in batch)
    return MapperCheckError(
        f"check_mapper({step!r}) failed property '{prop}': {message}\n  failing batch:\n{shown}"
    )


def _check(step: Mapper, batch: list[Document], splits: bool) -> None:
    block = docs_to_block(batch)
    outs = []
    for _ in range(2):
        ctx = RunContext(seed=0)
        try:
            outs.append((step.process(block, ctx, "check"), ctx))
        except Exception as exc:
            raise _fail(step, "never_raises", f"process() raised {exc!r}", batch) from exc
    (out, ctx), (again, _) = outs
    if not out.equals(again):
        raise _fail(step, "deterministic", "two runs gave different blocks", batch)
    for row in out.to_pylist():
        if row["words"] != count_words(row["text"]):
            raise _fail(step, "words_recounted", f"row {row['id']!r} has stale words", batch)
    ids = out.column("id").to_pylist()
    if not splits:
        if ids != [d.id for d in batch] or out.column("source").to_pylist() != [
            d.source for d in batch
        ]:
            raise _fail(step, "keeps_rows", f"ids {ids} for input {[d.id for d in batch]}", batch)
        return
    rejected = {r["id"] for t in ctx.rejects for r in t.to_pylist()}
    expected_parents = [d.id for d in batch if d.id not in rejected]
    parents = [i.rsplit("#", 1)[0] for i in ids]
    distinct_ids = len({d.id for d in batch}) == len(batch)
    if distinct_ids and list(dict.fromkeys(parents)) != list(dict.fromkeys(expected_parents)):
        raise _fail(step, "keeps_rows", f"ids {ids} do not derive from {expected_parents}", batch)
