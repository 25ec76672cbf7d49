"""The ``decontaminate`` dedup: remove training text that overlaps evaluation sets.

Items and documents are normalised the same way (NFKC, lower case, punctuation and whitespace
ignored) and split into tokens. A document is contaminated where

* one of its sentences equals an item (exact normalised sentence match, any item length), or
* it contains a whole item of ``min_words`` to ``ngram - 1`` tokens as a contiguous token run
  (BLiMP items are about 7 words, so most are matched whole), or
* it shares an ``ngram``-token run with a longer item (datatrove-style n-gram decontamination).

``unit: document`` drops contaminated documents; ``unit: sentence`` removes only the sentences
that overlap a match (a document left empty is dropped). Because sentences are cut at whitespace
and normalisation works per character, a document's tokens are exactly its sentences' tokens, so
a match maps back to the sentences it covers.

Drop reasons: ``contaminated_<set>`` (``contaminated_blimp``, ``contaminated_glue``,
``contaminated_superglue``, ``contaminated_ewok`` or a user set's name), and
``contaminated_<set>_fragment`` in the rejects shard for sentences cut in sentence mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field

from corpuskit.dedup.base import Dedup, Reasons
from corpuskit.dedup.evalsets import EvalSet, load_items, resolve_set, set_files
from corpuskit.dedup.normalize import Normalization
from corpuskit.dedup.report import clip, publish_report, removed_by_source
from corpuskit.dedup.rewrite import Rewrite, row_chunks
from corpuskit.dedup.segments import cut_segments, segment_spans
from corpuskit.dedup.shingles import shingle_hashes, token_hashes
from corpuskit.step import CheckContext, RunContext

RunTable = dict[int, tuple[np.ndarray, np.ndarray]]
Hit = tuple[int, int, int]  # (document, sentence, set index)


class DecontaminateDedup(Dedup, kind="decontaminate"):
    """Remove documents (or sentences) that overlap evaluation items; see the module docstring."""

    drop_reasons: ClassVar[tuple[str, ...]] = (
        "contaminated_blimp",
        "contaminated_glue",
        "contaminated_superglue",
        "contaminated_ewok",
    )

    sets: list[str | EvalSet] = Field(
        default_factory=lambda: list[str | EvalSet](["blimp"]),
        description="builtin sets (blimp, glue, superglue, ewok) or {name, paths, fields} specs",
    )
    ngram: int = Field(
        default=8, ge=2, description="shared token run that marks a longer item as leaked"
    )
    min_words: int = Field(
        default=4,
        ge=1,
        description="items shorter than this only match whole sentences, never inside one",
    )
    unit: Literal["document", "sentence"] = Field(
        default="document", description="remove whole documents or only the sentences"
    )
    normalization: Normalization = Field(
        default_factory=Normalization, description="normalisation of items and documents"
    )

    def check(self, ctx: CheckContext) -> None:
        self.input_files(ctx)

    def input_files(self, ctx: CheckContext) -> list[Path]:
        return [path for spec in self.sets for path in set_files(resolve_set(spec), ctx.data_root)]

    def duplicates(self, table: pa.Table, ctx: RunContext) -> Reasons:
        rows = self.participating(table)
        hits = self.match(table, rows, ctx)
        doc_set = _first_set_per_doc(hits)
        self._report(table, rows, hits, doc_set, ctx)
        # One shared reason string per set: the list holds pointers, not a string per row.
        names = [f"contaminated_{name}" for name in self._names()]
        reasons: list[str | None] = [None] * table.num_rows
        for doc, set_index in doc_set.items():
            reasons[int(rows[doc])] = names[set_index]
        return reasons

    def rewrite(self, table: pa.Table, ctx: RunContext) -> Rewrite | None:
        if self.unit == "document":
            return None
        rows = self.participating(table)
        hits = self.match(table, rows, ctx)
        marked: dict[int, set[int]] = {}
        for doc, sentence, _set_index in hits:
            marked.setdefault(doc, set()).add(sentence)
        doc_set = _first_set_per_doc(hits)
        names = self._names()
        result = cut_segments(
            table,
            rows,
            np.array(sorted(marked), dtype=np.int64),
            "sentence",
            lambda doc, n: [i in marked[doc] for i in range(n)],
            lambda doc: f"contaminated_{names[doc_set[doc]]}",
            ctx.release_pages,
        )
        self._report(table, rows, hits, doc_set, ctx)
        return result

    def _names(self) -> list[str]:
        return [resolve_set(spec).name for spec in self.sets]

    # ----- matching -----------------------------------------------------------------------
    def index(self, ctx: RunContext) -> tuple[RunTable, dict[str, int], dict[str, Any]]:
        """Lookup tables ({run length: (sorted hashes, set index)}, {normalised item: set index})
        and item counts per set."""
        runs: dict[int, list[tuple[np.ndarray, int]]] = {}
        whole: dict[str, int] = {}
        info: dict[str, Any] = {}
        for set_index, spec in enumerate(self.sets):
            eval_set = resolve_set(spec)
            items = load_items(eval_set, ctx.data_root, ctx.inputs)
            normalized = self.normalization.apply(pa.array(items, pa.large_string()))
            for item in normalized.to_pylist():
                if item:
                    whole.setdefault(item, set_index)
            units, offsets = token_hashes(normalized)
            lengths = np.diff(offsets)
            for k in np.unique(np.minimum(lengths[lengths >= self.min_words], self.ngram)):
                hashes, h_offsets = shingle_hashes(units, offsets, int(k))
                counts = np.diff(h_offsets)
                row_of = np.repeat(np.arange(len(counts)), counts)
                wanted = np.minimum(lengths, self.ngram)[row_of] == k
                runs.setdefault(int(k), []).append((hashes[wanted], set_index))
            info[eval_set.name] = {
                "items": len(items),
                "items_whole_sentence_only": int(
                    ((lengths > 0) & (lengths < self.min_words)).sum()
                ),
            }
        table: RunTable = {}
        for k, parts in runs.items():
            hashes = np.concatenate([h for h, _ in parts])
            owner = np.concatenate([np.full(len(h), s, dtype=np.int64) for h, s in parts])
            order = np.lexsort((owner, hashes))
            hashes, owner = hashes[order], owner[order]
            first = np.ones(len(hashes), dtype=bool)
            first[1:] = hashes[1:] != hashes[:-1]
            table[k] = (hashes[first], owner[first])
        return table, whole, info

    def match(self, table: pa.Table, rows: np.ndarray, ctx: RunContext) -> list[Hit]:
        """Sorted unique (document, sentence, set index) for every sentence overlapping a match.

        ``document`` indexes ``rows``. Documents are matched a chunk of rows at a time: a
        match never spans two documents, so chunking changes nothing but the memory it takes.
        """
        runs, whole, info = self.index(ctx)
        ctx.count(self.kind, "eval_items", sum(v["items"] for v in info.values()))
        every = len(rows) == table.num_rows
        found: set[Hit] = set()
        for offset, chunk in row_chunks(table, None if every else rows):
            for doc, sentence, set_index in self._match_chunk(chunk, runs, whole):
                found.add((doc + offset, sentence, set_index))
            ctx.release_pages()
        return sorted(found)

    def _match_chunk(self, chunk: pa.Table, runs: RunTable, whole: dict[str, int]) -> set[Hit]:
        texts = chunk["text"].to_pylist()
        spans = [segment_spans(t, "sentence") for t in texts]
        sentences = [t[a:b] for t, s in zip(texts, spans, strict=True) for a, b in s]
        del texts
        doc_of = np.repeat(np.arange(len(spans)), [len(s) for s in spans])
        normalized = self.normalization.apply(pa.array(sentences, pa.large_string()))
        found: set[Hit] = set()
        first_sentence = np.concatenate([[0], np.cumsum([len(s) for s in spans])]).astype(np.int64)
        for i, sentence in enumerate(normalized.to_pylist()):
            if sentence in whole:
                found.add((int(doc_of[i]), i - int(first_sentence[doc_of[i]]), whole[sentence]))
        units, sentence_offsets = token_hashes(normalized)
        doc_offsets = sentence_offsets[first_sentence]
        sentence_of_token = np.repeat(np.arange(len(sentences)), np.diff(sentence_offsets))
        for k, (keys, owner) in runs.items():
            hashes, h_offsets = shingle_hashes(units, doc_offsets, k)
            pos = np.searchsorted(keys, hashes)
            pos[pos == len(keys)] = 0
            hit = np.flatnonzero(keys[pos] == hashes) if len(keys) else np.zeros(0, int)
            if len(hit) == 0:
                continue
            doc = np.searchsorted(h_offsets, hit, side="right") - 1
            start = doc_offsets[doc] + (hit - h_offsets[doc])
            length = np.minimum(k, np.diff(doc_offsets)[doc])
            for d, a, n, s in zip(doc, start, length, owner[pos[hit]], strict=True):
                for sentence in range(sentence_of_token[a], sentence_of_token[a + n - 1] + 1):
                    found.add((int(d), sentence - int(first_sentence[d]), int(s)))
        return found

    def _report(
        self,
        table: pa.Table,
        rows: np.ndarray,
        hits: list[Hit],
        doc_set: dict[int, int],
        ctx: RunContext,
    ) -> None:
        """Matches per set with up to 5 example documents each, and removals per source.

        Only the example documents' ids and texts are read as Python strings.
        """
        specs = [resolve_set(spec) for spec in self.sets]
        by_set: dict[str, dict[str, Any]] = {
            spec.name: {"docs": 0, "sentences": 0, "examples": []} for spec in specs
        }
        seen_docs: set[tuple[int, int]] = set()
        for doc, sentence, set_index in hits:
            entry = by_set[specs[set_index].name]
            entry["sentences"] += 1
            if (doc, set_index) not in seen_docs:
                seen_docs.add((doc, set_index))
                entry["docs"] += 1
                if len(entry["examples"]) < 5:
                    row = int(rows[doc])
                    example: dict[str, str] = {"id": table["id"][row].as_py()}
                    if specs[set_index].redistributable:
                        text = table["text"][row].as_py()
                        a, b = segment_spans(text, "sentence")[sentence]
                        example["sentence"] = clip(text[a:b])
                    entry["examples"].append(example)
        dropped = np.zeros(table.num_rows, dtype=bool)
        dropped[rows[np.array(sorted(doc_set), dtype=np.int64)]] = True
        publish_report(
            ctx,
            self.kind,
            {
                "unit": self.unit,
                "eval_items": ctx.stats.get(f"{self.kind}.eval_items", 0),
                "docs_removed" if self.unit == "document" else "docs_touched": len(doc_set),
                "by_set": by_set,
                "removed_by_source": removed_by_source(table, dropped),
            },
        )


def _first_set_per_doc(hits: list[Hit]) -> dict[int, int]:
    """{document: smallest set index among its hits} (a document's reason names that set)."""
    doc_set: dict[int, int] = {}
    for doc, _sentence, set_index in hits:
        doc_set[doc] = min(set_index, doc_set.get(doc, set_index))
    return doc_set
