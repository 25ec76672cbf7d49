"""Budget invariants as hypothesis properties: exact quotas, nesting, order independence."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pyarrow as pa
import xxhash
from hypothesis import assume, given
from hypothesis import strategies as st

from corpuskit.budget import WordBudget, apportion, ordered_head, take_prefix
from corpuskit.hashing import hash_keys
from corpuskit.step import RunContext
from corpuskit.words import count_words
from tests.budget.tables import by_id, make_table, words_of

NAMES = ["a", "b", "c"]
doc_words = st.lists(st.integers(0, 40), min_size=1, max_size=40)
corpora = st.lists(doc_words, min_size=1, max_size=3).map(
    lambda lists: {NAMES[i]: counts for i, counts in enumerate(lists)}
)


def select(budget: WordBudget, table: pa.Table, seed: int = 0) -> pa.Table:
    return budget.select(table, RunContext(seed=seed)).apply(table)


@given(
    st.lists(st.integers(1, 9), min_size=1, max_size=6), st.integers(0, 5000), st.integers(1, 5000)
)
def test_apportion_sums_exactly_and_never_shrinks_as_the_total_grows(
    weights: list[int], total: int, more: int
) -> None:
    shares = [Fraction(w, sum(weights)) for w in weights]
    small, large = apportion(total, shares), apportion(total + more, shares)
    assert sum(small) == total and sum(large) == total + more
    assert all(s <= g for s, g in zip(small, large, strict=True))  # house monotone
    # within one word of the exact share (Jefferson errs towards the larger shares)
    assert all(abs(q - s * total) < len(shares) for q, s in zip(small, shares, strict=True))


@given(corpora, st.data(), st.sampled_from(["word", "sentence", "none"]), st.integers(0, 9))
def test_absolute_quotas_are_met_in_the_stated_sense(
    sources: dict[str, list[int]], data: st.DataObject, truncate: str, seed: int
) -> None:
    table = make_table(sources)
    available = words_of(table)
    quotas = {n: data.draw(st.integers(0, available.get(n, 0)), label=n) for n in sources}
    assume(sum(quotas.values()) > 0)
    out = select(WordBudget(quotas=quotas, truncate=truncate), table, seed)
    got = words_of(out)
    assert sum(got.values()) <= sum(quotas.values())
    for name, quota in quotas.items():
        selected = got.get(name, 0)
        assert selected <= quota
        if truncate == "word":
            assert selected == quota  # exact: hence ≥ 99.9% of every quota
        else:  # short by less than the boundary document
            assert quota - selected < max(sources[name], default=0) or selected == quota
    assert len(set(out["id"].to_pylist())) == out.num_rows
    assert out["words"].to_pylist() == [count_words(t) for t in out["text"].to_pylist()]


@given(st.lists(st.integers(1, 12), min_size=50, max_size=300), st.integers(0, 9))
def test_small_documents_fill_99_9_percent_without_truncation(counts: list[int], seed: int) -> None:
    # documents of ≤ 12 words against quotas of ≥ 12,000 words: within one document is ≥ 99.9%
    table = make_table({"a": counts * 60, "b": counts * 60})
    total = int(sum(counts) * 60 * 1.5)
    assume(total * 0.4 >= 12_000)
    out = select(WordBudget(total=total, quotas={"a": 0.6, "b": 0.4}, truncate="none"), table, seed)
    got = words_of(out)
    quotas = apportion(total, [Fraction(3, 5), Fraction(2, 5)])
    for name, quota in zip(["a", "b"], quotas, strict=True):
        assert 0.999 * quota <= got[name] <= quota
    assert 0.999 * total <= sum(got.values()) <= total


@given(
    corpora,
    st.floats(0.05, 1.0),
    st.floats(0.0, 1.0),
    st.sampled_from(["word", "sentence", "none"]),
    st.sampled_from(["warn", "redistribute"]),
    st.integers(0, 9),
)
def test_nested_budgets_are_prefixes(
    sources: dict[str, list[int]],
    frac_large: float,
    frac_small: float,
    truncate: str,
    policy: str,
    seed: int,
) -> None:
    table = make_table(sources)
    available = sum(words_of(table).values())
    large = max(1, int(available * frac_large * 1.3))
    small = max(1, int(large * frac_small))
    shares = {n: 1 / len(sources) for n in sources}

    def run(total: int) -> dict[str, str]:
        budget = WordBudget(total=total, quotas=shares, truncate=truncate, on_short=policy)
        return by_id(select(budget, table, seed))

    a, b = run(small), run(large)
    for doc_id, text in a.items():
        assert doc_id in b
        assert b[doc_id].startswith(text)  # equal, or the boundary doc cut shorter in A


@given(corpora, st.integers(1, 400), st.randoms(use_true_random=False), st.integers(0, 9))
def test_selection_is_independent_of_input_order(
    sources: dict[str, list[int]], total: int, rnd: object, seed: int
) -> None:
    table = make_table(sources)
    permutation = list(range(table.num_rows))
    rnd.shuffle(permutation)  # type: ignore[attr-defined]
    shuffled = table.take(pa.array(permutation, pa.int64()))
    budget = WordBudget(total=total, quotas={n: 1 / len(sources) for n in sources}, on_short="warn")
    assert select(budget, table, seed).equals(select(budget, shuffled, seed))


@given(st.lists(st.integers(0, 30), max_size=200), st.integers(0, 3000), st.integers(0, 3000))
def test_take_prefix_is_the_longest_fitting_prefix_and_nests(
    words: list[int], total: int, more: int
) -> None:
    arr = np.asarray(words, dtype=np.int64)
    order = np.random.default_rng(len(words)).permutation(len(arr))
    chosen = take_prefix(arr, order, total)
    assert chosen.tolist() == order[: len(chosen)].tolist()
    assert int(arr[chosen].sum()) <= total
    if len(chosen) < len(order):
        assert int(arr[chosen].sum()) + int(arr[order[len(chosen)]]) > total
    assert take_prefix(arr, order, total + more)[: len(chosen)].tolist() == chosen.tolist()


def reference_key(text: str, seed: int, salt: str) -> int:
    """The documented definition of ``hash_keys``, one id at a time in plain Python."""
    mask = 2**64 - 1

    def mix(x: int) -> int:
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
        return x ^ (x >> 31)

    poly = 0
    data = text.encode("utf-8")
    for byte in data:
        poly = (poly * 0x100000001B3 + byte + 1) & mask
    salted = poly ^ xxhash.xxh3_64_intdigest(salt.encode(), seed)
    return mix((mix(salted) + len(data)) & mask)


@given(st.lists(st.text(max_size=30), max_size=60), st.integers(0, 2**32), st.text(max_size=5))
def test_hash_keys_match_their_definition_on_any_unicode(
    texts: list[str], seed: int, salt: str
) -> None:
    expected = [reference_key(t, seed, salt) for t in texts]
    assert hash_keys(pa.array(texts, pa.string()), seed, salt).tolist() == expected
    chunked = pa.chunked_array([pa.array(texts[:3], pa.string()), pa.array(texts[3:], pa.string())])
    assert hash_keys(chunked, seed, salt).tolist() == expected
    sliced = pa.array(["pad", *texts], pa.large_string()).slice(1)
    assert hash_keys(sliced, seed, salt).tolist() == expected


def test_hash_keys_span_long_ids_and_many_rows() -> None:
    texts = ["x" * 70_000, "", "é" * 40_000, *[f"doc:{i}" for i in range(20_000)]]
    keys = hash_keys(pa.array(texts), 7, "s")
    assert keys[:3].tolist() == [reference_key(t, 7, "s") for t in texts[:3]]
    assert keys[-1] == reference_key(texts[-1], 7, "s")
    assert len(set(keys.tolist())) == len(texts)


@given(st.lists(st.integers(0, 20), max_size=300), st.integers(0, 4000), st.integers(0, 9))
def test_ordered_head_is_the_head_of_the_full_sort(words: list[int], quota: int, seed: int) -> None:
    arr = np.asarray(words, dtype=np.int64)
    keys = hash_keys(pa.array([f"d{i}" for i in range(len(arr))]), seed)
    members = np.flatnonzero(np.arange(len(arr)) % 3 != 0)  # a key's rows: not all rows
    full = members[np.argsort(keys[members], kind="stable")]
    head = ordered_head(keys, arr, members, quota)
    assert head.tolist() == full[: len(head)].tolist()
    # long enough to hold the budget's prefix and its boundary document
    assert len(head) == len(full) or int(arr[head].sum()) > quota
