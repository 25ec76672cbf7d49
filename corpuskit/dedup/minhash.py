"""The ``minhash`` dedup: near-duplicate documents by MinHash signatures and LSH banding.

Memory is bounded by the number of documents, not by their signatures: rows are hashed a chunk at
a time and only their LSH band keys (``bands`` × 8 bytes a row) are kept, and rows are numbered
in id order without copying the table. Verification needs the full signatures of candidate rows
only; those are grouped by normalised text and hashed again, one per distinct text. The whole
signature matrix (``num_perm`` × 4 bytes a row, 512 with the defaults) is never held: at 100M
words of line-level text it would not fit in memory.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, ClassVar, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from corpuskit.dedup.base import ClusterDedup, Reasons, reasons_at
from corpuskit.dedup.lsh import band_keys, candidate_pairs, connected_components, estimated_jaccard
from corpuskit.dedup.normalize import Normalization
from corpuskit.dedup.report import cluster_report, publish_report
from corpuskit.dedup.rewrite import row_chunks
from corpuskit.dedup.segments import content_keys, group_keys
from corpuskit.dedup.shingles import char_hashes, shingle_hashes, token_hashes
from corpuskit.dedup.signatures import Backend, optimal_bands, signatures
from corpuskit.errors import MissingDependencyError
from corpuskit.step import RunContext
from corpuskit.tally import distinct_sorted

MAX_PASSES = 8
TAKE_ROWS = 1 << 17  # candidate rows whose texts are copied at once (grouping, re-hashing)
Found = tuple[np.ndarray, np.ndarray, dict[str, Any]]
Hashes = Literal["keys", "signatures"]
RowHashes = Callable[
    ["MinHashDedup", pa.Array | pa.ChunkedArray, Hashes], tuple[np.ndarray, np.ndarray]
]
# Set by an executor that hashes rows elsewhere (the Ray executor: map_batches over the texts).
# Both kinds of hashes are per row, so any split of the rows gives the same matrix.
row_hashes: ContextVar[RowHashes | None] = ContextVar("row_hashes", default=None)


class MinHashDedup(ClusterDedup, kind="minhash"):
    """Drop near-duplicates: documents whose shingle sets have Jaccard similarity ≥ ``threshold``.

    Each document's shingles (word or character n-grams of its normalised text) are summarised
    by ``num_perm`` min-wise hashes. LSH bands (``bands`` × ``rows``, chosen from the threshold
    by weighing false positives against false negatives, as datasketch does) propose candidate
    pairs; with ``verify`` a pair counts only if its signatures agree on ≥ ``threshold`` of the
    values. Candidate pairs are joined into clusters (connected components) and each cluster keeps
    one document chosen by ``source_priority``, ``prefer`` and the smallest id. Rows are processed
    in id order, so the result does not depend on input order or worker count.

    Drop reasons: ``dup_near``.
    """

    drop_reasons: ClassVar[tuple[str, ...]] = ("dup_near",)

    threshold: float = Field(default=0.8, gt=0.0, le=1.0, description="Jaccard similarity cut")
    num_perm: int = Field(default=128, ge=8, le=1024, description="hash permutations per signature")
    shingle: Literal["word", "char"] = Field(default="word", description="shingle unit")
    ngram: int = Field(default=5, ge=1, le=64, description="units per shingle (word 5-grams)")
    normalization: Normalization = Field(
        default_factory=Normalization, description="text normalisation before shingling"
    )
    bands: int | None = Field(default=None, ge=1, description="LSH bands (default: optimal)")
    rows: int | None = Field(default=None, ge=1, description="rows per band (default: optimal)")
    weights: tuple[float, float] = Field(
        default=(0.3, 0.7),
        description="(false positive, false negative) weights for choosing bands/rows; recall "
        "is favoured because `verify` removes false positives afterwards",
    )
    verify: bool = Field(
        default=True, description="confirm LSH candidates by their signature similarity"
    )
    backend: Backend = Field(
        default="numpy", description="signature backend: numpy, rensa or datasketch"
    )
    threads: int = Field(
        default=1, ge=1, le=64, description="threads for the numpy backend (same result for any)"
    )
    seed: int = Field(
        default=1,
        description="seeds the hash permutations; part of the step's identity, not the recipe seed",
    )

    @model_validator(mode="after")
    def _check(self) -> MinHashDedup:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set both bands and rows, or neither")
        if self.bands and self.rows and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands × rows = {self.bands * self.rows} exceeds num_perm")
        if self.backend != "numpy" and importlib.util.find_spec(self.backend) is None:
            raise MissingDependencyError(f"minhash backend {self.backend!r}", "dedup")
        return self

    def band_rows(self) -> tuple[int, int]:
        """(bands, rows) used for LSH."""
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        return optimal_bands(self.threshold, self.num_perm, *self.weights)

    def signatures(self, texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
        """(signatures (rows, num_perm) uint32, shingle count per row) of the texts."""
        normalized = self.normalization.apply(texts)
        units, offsets = (token_hashes if self.shingle == "word" else char_hashes)(normalized)
        shingles, shingle_offsets = shingle_hashes(units, offsets, self.ngram)
        sig = signatures(
            shingles, shingle_offsets, self.num_perm, self.seed, self.backend, self.threads
        )
        return sig, np.diff(shingle_offsets)

    def hash_rows(
        self, texts: pa.Array | pa.ChunkedArray, what: Hashes
    ) -> tuple[np.ndarray, np.ndarray]:
        """(LSH band keys (rows, bands) uint64 or signatures (rows, num_perm) uint32, shingle
        count per row), computed a chunk of rows at a time so temporaries stay one chunk's."""
        bands, band_width = self.band_rows()
        n = len(texts)
        width, dtype = (bands, np.uint64) if what == "keys" else (self.num_perm, np.uint32)
        out = np.empty((n, width), dtype=dtype)
        counts = np.empty(n, dtype=np.int64)
        for start, chunk in row_chunks(pa.table({"text": texts})):
            sig, count = self.signatures(chunk["text"])
            stop = start + len(count)
            out[start:stop] = band_keys(sig, bands, band_width) if what == "keys" else sig
            counts[start:stop] = count
        return out, counts

    def near_duplicates(self, table: pa.Table, order: np.ndarray) -> Found:
        """(drop mask, cluster label per row, LSH statistics), rows numbered in canonical order.

        Row ``i`` of the canonical order is ``table`` row ``order[i]``; the table itself is not
        reordered (a copy as large as the corpus). Each bucket joins its members to its first
        row, so two kept rows that share a bucket may never have been compared; passes repeat
        over the kept rows until none is dropped, which makes the step idempotent.
        """
        compute = row_hashes.get() or MinHashDedup.hash_rows
        keys, counts = compute(self, table["text"], "keys")
        for band in range(keys.shape[1]):  # into canonical order, a band at a time (no copy)
            keys[:, band] = keys[order, band]
        counts = counts[order]
        candidates = CandidateSignatures(self, table["text"], order, compute)
        back = inverse(order)  # canonical values -> table rows, for the keep rule
        bands, rows = self.band_rows()
        n = len(counts)
        drop = np.zeros(n, dtype=bool)
        found: list[np.ndarray] = []
        stats: dict[str, Any] = {"bands": bands, "rows": rows, "candidate_pairs": 0, "passes": 0}
        for _ in range(MAX_PASSES):
            pairs = candidate_pairs(keys, (counts > 0) & ~drop)
            stats["candidate_pairs"] += len(pairs)
            stats["passes"] += 1
            if self.verify and len(pairs):
                pairs = pairs[candidates.agreement(pairs) >= self.threshold]
            if len(pairs) == 0:
                break
            found.append(pairs)
            newly = self.resolve(table, connected_components(n, pairs)[back])
            newly = newly[order] & ~drop
            if not newly.any():
                break
            drop |= newly
        all_pairs = np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)
        stats["pairs"] = len(all_pairs)
        return drop, connected_components(n, all_pairs), stats

    def duplicates(self, table: pa.Table, ctx: RunContext) -> Reasons:
        rows = self.participating(table)
        sub = table.take(pa.array(rows)) if len(rows) != table.num_rows else table
        # canonical order: by id (then text), so clusters do not depend on arrival order
        order = pc.sort_indices(sub, sort_keys=[("id", "ascending"), ("text", "ascending")])
        order = order.to_numpy()
        drop_canon, labels, stats = self.near_duplicates(sub, order)
        back = inverse(order)
        drop, labels = drop_canon[back], labels[back]
        report = cluster_report(sub, labels, drop, order=order)
        publish_report(ctx, self.kind, {**report, **stats})
        return reasons_at(rows[drop], table.num_rows, "dup_near")


def inverse(order: np.ndarray) -> np.ndarray:
    """The inverse permutation: ``values[inverse(order)]`` puts canonical values in table rows."""
    back = np.empty(len(order), dtype=np.int64)
    back[order] = np.arange(len(order))
    return back


class CandidateSignatures:
    """Full signatures of the rows that LSH proposes, hashed when first asked for and kept.

    Rows with the same normalised text have the same signature, so the candidate rows are first
    grouped by a 128-bit key of their normalised text (as ``exact`` groups documents) and one
    signature is hashed and held per group: where most candidates are copies of a few lines,
    the step hashes and holds a signature per distinct text, not per row. A later pass only
    proposes pairs among rows that already shared a bucket (buckets lose members as rows are
    dropped, never gain them), so the first pass's rows are usually all that is ever needed;
    any others are grouped and hashed in the same way.
    """

    def __init__(
        self,
        step: MinHashDedup,
        texts: pa.Array | pa.ChunkedArray,
        order: np.ndarray,
        compute: RowHashes,
    ):
        """``texts`` in table order; candidate ``i`` (canonical) is text ``order[i]``."""
        self.step, self.texts, self.order, self.compute = step, texts, order, compute
        self.rows = np.zeros(0, dtype=np.int64)  # ascending candidate rows
        self.slot = np.zeros(0, dtype=np.int64)  # per row: its signature's index in ``sig``
        self.sig = np.zeros((0, step.num_perm), dtype=np.uint32)

    def agreement(self, pairs: np.ndarray) -> np.ndarray:
        """MinHash's Jaccard estimate for each pair (share of equal signature values)."""
        wanted = distinct_sorted(pairs)
        held = np.searchsorted(self.rows, wanted)
        known = held < len(self.rows)
        known[known] = self.rows[held[known]] == wanted[known]
        if not known.all():
            self.add(wanted[~known])
        return estimated_jaccard(self.sig, self.slot[np.searchsorted(self.rows, pairs)])

    def add(self, missing: np.ndarray) -> None:
        """Group the ascending ``missing`` rows by normalised text; hash one row per group."""
        keys = np.empty((len(missing), 2), dtype=np.uint64)
        for part in _slices(len(missing)):  # a slice of texts at a time: maybe most of a corpus
            texts = self.texts.take(pa.array(self.order[missing[part]]))
            keys[part] = content_keys(self.step.normalization.apply(texts))
        group = group_keys(keys)  # numbered 0, 1, ... by key
        del keys
        first = np.unique(group, return_index=True)[1]  # a row of each group, in group order
        sig = np.empty((len(first), self.step.num_perm), dtype=np.uint32)
        for part in _slices(len(first)):
            texts = self.texts.take(pa.array(self.order[missing[first[part]]]))
            sig[part] = self.compute(self.step, texts, "signatures")[0]
        rows = distinct_sorted(np.concatenate([self.rows, missing]))
        slot = np.empty(len(rows), dtype=np.int64)
        slot[np.searchsorted(rows, self.rows)] = self.slot
        slot[np.searchsorted(rows, missing)] = len(self.sig) + group
        self.rows, self.slot = rows, slot
        self.sig = np.concatenate([self.sig, sig]) if len(self.sig) else sig


def _slices(n: int) -> list[np.ndarray]:
    """Index ranges of at most ``TAKE_ROWS`` covering ``range(n)``."""
    return np.array_split(np.arange(n), -(-n // TAKE_ROWS)) if n else []
