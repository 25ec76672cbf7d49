"""The keep rule of cluster dedups (``ClusterDedup.resolve``) against a plain-Python reference."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from corpuskit.dedup import ExactDedup
from corpuskit.document import Document, docs_to_block

rows_strategy = st.lists(
    st.tuples(
        st.integers(-1, 4),  # cluster label (-1: in no cluster)
        st.sampled_from(["a", "b", "c"]),  # source
        st.booleans(),  # synthetic
        st.sampled_from(["x", "y", "x"]),  # text (ties on id never happen: ids are unique)
    ),
    max_size=30,
)


def reference(
    rows: list[tuple[int, str, bool, str]], scope: str, priority: list[str]
) -> list[bool]:
    """Drop flags by the documented rule, written out row by row."""

    def rank(i: int) -> tuple[int, int, str, str]:
        _, source, synthetic, text = rows[i]
        place = priority.index(source) if source in priority else len(priority)
        return place, int(synthetic), f"d{i:03d}", text

    groups: dict[tuple[object, ...], list[int]] = {}
    for i, (label, source, _, _) in enumerate(rows):
        key: tuple[object, ...] = ("single", i) if label < 0 else (label,)
        if scope == "within_source":
            key = (*key, source)
        groups.setdefault(key, []).append(i)
    drop = [False] * len(rows)
    for members in groups.values():
        kept = min(members, key=rank)
        for i in members:
            drop[i] = i != kept and (scope != "cross_source" or rows[i][1] != rows[kept][1])
    return drop


@settings(max_examples=300, deadline=None)
@given(
    rows=rows_strategy,
    scope=st.sampled_from(["all", "within_source", "cross_source"]),
    priority=st.lists(st.sampled_from(["a", "b", "c"]), max_size=3, unique=True),
)
def test_resolve_follows_the_keep_rule(
    rows: list[tuple[int, str, bool, str]], scope: str, priority: list[str]
) -> None:
    table = docs_to_block(
        Document(f"d{i:03d}", text, source, {"synthetic": True} if synthetic else {})
        for i, (_, source, synthetic, text) in enumerate(rows)
    )
    step = ExactDedup(scope=scope, source_priority=priority)  # type: ignore[arg-type]
    cluster = np.array([label for label, *_ in rows], dtype=np.int64)
    assert step.resolve(table, cluster).tolist() == reference(rows, scope, priority)
