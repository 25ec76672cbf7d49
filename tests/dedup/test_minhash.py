"""MinHash near-duplicate detection: accuracy on planted duplicates, agreement with datasketch."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from corpuskit.dedup import MinHashDedup
from corpuskit.dedup.lsh import connected_components
from corpuskit.dedup.signatures import collision_probability, optimal_bands
from corpuskit.document import Document, docs_to_block
from corpuskit.errors import BuildError
from corpuskit.filters.base import as_string_array
from corpuskit.step import RunContext
from tests.dedup.planted import Planted, planted_corpus, shingles


@pytest.fixture(scope="module")
def planted() -> Planted:
    return planted_corpus(n_base=600, n_exact=50, n_near=200, n_control=150, seed=7)


def table_of(planted: Planted, source: str = "s") -> pa.Table:
    return docs_to_block(Document(i, t, source) for i, t in planted.docs)


def dropped_ids(step: MinHashDedup, table: pa.Table) -> set[str]:
    reasons = as_string_array(step.duplicates(table, RunContext(seed=0))).to_pylist()
    return {i for i, r in zip(table["id"].to_pylist(), reasons, strict=True) if r is not None}


def precision_recall(planted: Planted, dropped: set[str]) -> tuple[float, float]:
    positives = planted.positives(0.8)
    true_positive = len(dropped & positives)
    return true_positive / max(len(dropped), 1), true_positive / len(positives)


@pytest.mark.parametrize("backend", ["numpy", "rensa"])
def test_precision_and_recall_at_threshold_0_8(planted: Planted, backend: str) -> None:
    # planted: 50 exact copies (case/punctuation changed), 200 near copies with true 5-gram
    # Jaccard in [0.85, 1), 150 controls in [0.3, 0.72], 600 unrelated base documents
    dropped = dropped_ids(MinHashDedup(threshold=0.8, backend=backend), table_of(planted))
    precision, recall = precision_recall(planted, dropped)
    print(f"{backend}: precision {precision:.3f} recall {recall:.3f} dropped {len(dropped)}")
    assert precision >= 0.95
    assert recall >= 0.95
    # the kept copy of every cluster is the base document (smaller id), never the copy
    assert all(i.startswith("b") for i in dropped)


def test_exact_copies_always_found(planted: Planted) -> None:
    dropped = dropped_ids(MinHashDedup(), table_of(planted))
    exact = {c for c, (_, j) in planted.copies.items() if j == 1.0}
    assert len(exact) >= 50
    assert exact <= dropped


def test_signatures_agree_with_datasketch_within_expected_error(planted: Planted) -> None:
    from datasketch import MinHash

    by_id = dict(planted.docs)
    pairs = sorted(planted.copies.items())[:120]
    texts = [by_id[base] for _, (base, _) in pairs] + [by_id[copy] for copy, _ in pairs]
    step = MinHashDedup(num_perm=128)
    sig, _ = step.signatures(pa.array(texts, pa.large_string()))
    n = len(pairs)
    ours_error, reference_error = [], []
    for k, (_, (_, true_j)) in enumerate(pairs):
        ours = float((sig[k] == sig[n + k]).mean())
        sets = []
        for text in (texts[k], texts[n + k]):
            tokens = [t.lower().strip(".,!?") for t in text.split()]
            mh = MinHash(num_perm=128, seed=3)
            mh.update_batch([" ".join(s).encode() for s in shingles(tokens)])
            sets.append(mh)
        reference = sets[0].jaccard(sets[1])
        sigma = max(np.sqrt(true_j * (1 - true_j) / 128), 1 / 128)
        assert abs(ours - true_j) <= 4 * sigma, (ours, true_j)
        assert abs(ours - reference) <= 4 * np.sqrt(2) * sigma, (ours, reference)
        ours_error.append(abs(ours - true_j))
        reference_error.append(abs(reference - true_j))
    # on average our estimate is as good as the reference's (both are unbiased estimators)
    assert np.mean(ours_error) <= 1.5 * np.mean(reference_error) + 0.005


@pytest.mark.parametrize(
    ("threshold", "num_perm", "weights", "expected"),
    [
        (0.8, 128, (0.5, 0.5), (9, 13)),
        (0.8, 128, (0.3, 0.7), (11, 11)),
        (0.5, 64, (0.5, 0.5), None),
    ],
)
def test_band_parameters_match_datasketch(
    threshold: float, num_perm: int, weights: tuple[float, float], expected: tuple[int, int] | None
) -> None:
    from datasketch.lsh import _optimal_param

    ours = optimal_bands(threshold, num_perm, *weights)
    assert ours == _optimal_param(threshold, num_perm, *weights)
    if expected is not None:
        assert ours == expected


def test_collision_probability_is_the_s_curve() -> None:
    assert collision_probability(0.8, 9, 13) == pytest.approx(1 - (1 - 0.8**13) ** 9)
    assert collision_probability(1.0, 9, 13) == 1.0


def test_result_independent_of_input_order(planted: Planted) -> None:
    table = table_of(planted)
    shuffled = table.take(pa.array(np.random.default_rng(3).permutation(table.num_rows)))
    assert dropped_ids(MinHashDedup(), table) == dropped_ids(MinHashDedup(), shuffled)


def test_source_priority_keeps_the_preferred_copy() -> None:
    text = " ".join(f"w{i}" for i in range(40))
    docs = [Document("a", text, "synthetic_src", {"synthetic": True}), Document("z", text, "books")]
    table = docs_to_block(docs)
    assert dropped_ids(MinHashDedup(), table) == {"a"}  # natural kept over synthetic
    assert dropped_ids(MinHashDedup(prefer="synthetic"), table) == {"z"}
    assert dropped_ids(MinHashDedup(prefer="none"), table) == {"z"}  # smallest id
    assert dropped_ids(MinHashDedup(prefer="none", source_priority=["books"]), table) == {"a"}


def test_empty_and_short_documents() -> None:
    docs = [
        Document("a", "", "s"),
        Document("b", "", "s"),
        Document("c", "hi there", "s"),
        Document("d", "Hi, there!", "s"),
        Document("e", "hi", "s"),
    ]
    assert dropped_ids(MinHashDedup(), docs_to_block(docs)) == {"d"}


def test_char_shingles_find_spelling_variants() -> None:
    base = "the quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat"
    docs = [
        Document("a", base, "s"),
        Document("b", base.replace("quick", "quik"), "s"),
        Document("c", "an entirely different sentence about something else", "s"),
    ]
    assert dropped_ids(
        MinHashDedup(shingle="char", ngram=5, threshold=0.7), docs_to_block(docs)
    ) == {"b"}


def test_report_lists_clusters() -> None:
    text = "one two three four five six seven eight"
    docs = [Document(f"d{i}", text, "s") for i in range(4)] + [Document("x", "other words", "t")]
    ctx = RunContext(seed=0)
    MinHashDedup().duplicates(docs_to_block(docs), ctx)
    report = ctx.reports["minhash"]
    assert report["clusters"] == 1
    assert report["docs_removed"] == 3
    assert report["largest"][0]["kept"]["id"] == "d0"
    assert [r["id"] for r in report["largest"][0]["removed"]] == ["d1", "d2", "d3"]
    assert report["removed_by_source"] == {"s": {"docs": 3, "words": 24}}
    assert (report["bands"], report["rows"]) == (11, 11)


def test_invalid_band_settings() -> None:
    with pytest.raises(ValueError, match="bands and rows"):
        MinHashDedup(bands=4)
    with pytest.raises(ValueError, match="exceeds num_perm"):
        MinHashDedup(bands=20, rows=10, num_perm=128)


def test_connected_components_labels_by_smallest_member() -> None:
    labels = connected_components(7, np.array([[0, 3], [3, 5], [4, 6], [5, 1]]))
    assert labels.tolist() == [0, 0, 2, 0, 4, 0, 4]


def test_rewriting_steps_refuse_duplicates_call() -> None:
    from corpuskit.dedup import LineDedup

    with pytest.raises(BuildError, match="apply"):
        LineDedup().duplicates(docs_to_block([Document("a", "x", "s")]), RunContext(seed=0))


@pytest.mark.parametrize("target", [0.5, 0.8])
def test_numpy_estimates_are_unbiased_with_minhash_variance(target: float) -> None:
    from corpuskit.dedup.signatures import numpy_signatures

    rng = np.random.default_rng(5)
    common = round(120 * target / (1 + target))  # two 60-element sets sharing `common`
    true = common / (120 - common)
    errors = []
    for trial in range(200):
        shared = rng.integers(0, 2**64, size=common, dtype=np.uint64)
        own = rng.integers(0, 2**64, size=2 * (60 - common), dtype=np.uint64)
        values = np.concatenate([shared, own[: 60 - common], shared, own[60 - common :]])
        sig = numpy_signatures(values, np.array([0, 60, 120]), 128, trial)
        errors.append(float((sig[0] == sig[1]).mean()) - true)
    sigma = np.sqrt(true * (1 - true) / 128)
    assert abs(np.mean(errors)) <= 3 * sigma / np.sqrt(200)
    assert 0.8 * sigma <= np.std(errors) <= 1.25 * sigma


def test_thread_count_does_not_change_signatures(planted: Planted) -> None:
    from corpuskit.dedup.shingles import shingle_hashes, token_hashes
    from corpuskit.dedup.signatures import CHUNK_SHINGLES, numpy_signatures

    step = MinHashDedup()
    normalized = step.normalization.apply(table_of(planted)["text"])
    shingles, offsets = shingle_hashes(*token_hashes(normalized), 5)
    many = np.tile(shingles, 3 * CHUNK_SHINGLES // len(shingles) + 1)  # several chunks
    many_offsets = np.concatenate(
        [offsets[:-1] + k * len(shingles) for k in range(len(many) // len(shingles))]
        + [[len(many)]]
    )
    one = numpy_signatures(many, many_offsets, 64, 9, threads=1)
    assert np.array_equal(one, numpy_signatures(many, many_offsets, 64, 9, threads=3))
    assert np.array_equal(one[: len(offsets) - 1], one[len(offsets) - 1 : 2 * (len(offsets) - 1)])
