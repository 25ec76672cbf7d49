"""Heuristic filter throughput: corpuskit (vectorised blocks) vs datatrove's stock Gopher filter.

    python benchmarks/filters_vs_datatrove.py --words 2000000 --stock-words 200000

Input: the shared Gutenberg books as paragraphs plus Switchboard as 10-utterance dialogue
documents (one utterance per line), cycled to ``--words`` whitespace words. In one process and
one run it times, single-threaded, on the same documents:

- datatrove ``GopherRepetitionFilter()`` as shipped (its English word tokenizer is spaCy's), on
  the first ``--stock-words`` words (it is slow);
- datatrove ``GopherRepetitionFilter`` with a whitespace word tokenizer (corpuskit's definition
  of a word), on everything: the decisions must then be identical, reason for reason;
- corpuskit ``gopher_repetition`` and the other vectorised heuristic filters, over Arrow blocks
  of 50,000 documents;
- the spaCy filters (``nlp.pipe`` batches) in documents per second, on ``--spacy-docs`` docs.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CORPUSKIT_DATA", REPO.parent / "shared" / "data"))
sys.path.insert(0, str(REPO))

from corpuskit import filters as F  # noqa: E402, N812
from corpuskit.document import block_from_columns  # noqa: E402
from corpuskit.filters.base import as_string_array  # noqa: E402


def load_docs(words: int) -> list[str]:
    base = []
    for path in sorted((DATA / "gutenberg").glob("*.txt")):
        base += [p.strip() for p in re.split(r"\n\s*\n", path.read_text()) if p.strip()]
    with gzip.open(DATA / "switchboard" / "swda_all_dialogues.txt.gz", "rt") as handle:
        utterances = [ln.split("|")[1] for ln in handle if ln.count("|") >= 2]
    base += ["\n".join(utterances[i : i + 10]) for i in range(0, len(utterances), 10)]
    docs, total, i = [], 0, 0
    while total < words:
        doc = base[i % len(base)]
        docs.append(doc)
        total += len(doc.split())
        i += 1
    return docs


def prefix(docs: list[str], words: int) -> list[str]:
    out, total = [], 0
    for doc in docs:
        if total >= words:
            break
        out.append(doc)
        total += len(doc.split())
    return out


def datatrove_reasons(step: object, docs: list[str]) -> tuple[float, list[str | None]]:
    from datatrove.data import Document

    start = time.perf_counter()
    out = []
    for i, text in enumerate(docs):
        verdict = step.filter(Document(text=text, id=str(i)))  # type: ignore[attr-defined]
        out.append(None if verdict is True else verdict[1])
    return time.perf_counter() - start, out


def corpuskit_reasons(step: F.Filter, docs: list[str]) -> tuple[float, list[str | None]]:
    blocks = [
        block_from_columns(
            [str(j) for j in range(i, min(i + 50_000, len(docs)))], docs[i : i + 50_000], "s", "{}"
        )
        for i in range(0, len(docs), 50_000)
    ]
    start = time.perf_counter()
    reasons = [as_string_array(step.drop_reasons_block(b)).to_pylist() for b in blocks]
    return time.perf_counter() - start, [r for part in reasons for r in part]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--words", type=int, default=2_000_000)
    parser.add_argument("--stock-words", type=int, default=200_000)
    parser.add_argument("--spacy-docs", type=int, default=2_000)
    args = parser.parse_args()

    from datatrove.pipeline.filters import GopherRepetitionFilter
    from datatrove.utils.word_tokenizers import WordTokenizer

    class Whitespace(WordTokenizer):
        def word_tokenize(self, text: str) -> list[str]:
            return text.split()

        def sent_tokenize(self, text: str) -> list[str]:
            return [text]

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [(0, len(text))]

    docs = load_docs(args.words)
    words = sum(len(d.split()) for d in docs)
    stock_docs = prefix(docs, args.stock_words)
    stock_words = sum(len(d.split()) for d in stock_docs)
    rows: list[tuple[str, int, int, float]] = []

    stock_s, stock_reasons = datatrove_reasons(GopherRepetitionFilter(), stock_docs)
    rows.append(
        ("datatrove GopherRepetition (stock, spaCy words)", len(stock_docs), stock_words, stock_s)
    )
    ws_s, ws_reasons = datatrove_reasons(GopherRepetitionFilter(language=Whitespace()), docs)
    rows.append(("datatrove GopherRepetition (whitespace words)", len(docs), words, ws_s))
    ck_s, ck_reasons = corpuskit_reasons(F.GopherRepetitionFilter(), docs)
    rows.append(("corpuskit gopher_repetition", len(docs), words, ck_s))
    for step in (
        F.WordCountFilter(min_words=3),
        F.CharRatioFilter(),
        F.LatinShareFilter(),
        F.EnglishFilter(),
        F.WebArtifactsFilter(),
        F.TypeTokenRatioFilter(),
    ):
        seconds, _ = corpuskit_reasons(step, docs)
        rows.append((f"corpuskit {step.kind}", len(docs), words, seconds))

    print(f"\n{len(docs):,} documents, {words:,} words (Gutenberg paragraphs + Switchboard)\n")
    print(f"| {'filter':50} | {'docs':>8} | {'words':>10} | {'seconds':>8} | {'words/s':>12} |")
    print(f"|{'-' * 52}|{'-' * 10}|{'-' * 12}|{'-' * 10}|{'-' * 14}|")
    for name, n_docs, n_words, seconds in rows:
        print(
            f"| {name:50} | {n_docs:>8,} | {n_words:>10,} | {seconds:>8.2f} | {n_words / seconds:>12,.0f} |"
        )
    ck_rate = words / ck_s
    print(
        f"\ncorpuskit gopher_repetition vs datatrove stock:      {ck_rate / (stock_words / stock_s):.1f}x"
    )
    print(f"corpuskit gopher_repetition vs datatrove whitespace: {ck_rate / (words / ws_s):.1f}x")
    same = sum(a == b for a, b in zip(ck_reasons, ws_reasons, strict=True))
    print(f"identical reasons vs datatrove (whitespace words): {same:,}/{len(docs):,}")
    same_keep = sum(
        (a is None) == (b is None) for a, b in zip(ck_reasons, stock_reasons, strict=False)
    )
    print(
        f"same keep/drop vs datatrove stock (spaCy words, a different word definition): "
        f"{same_keep:,}/{len(stock_docs):,}"
    )

    spacy_docs = [d for d in docs if len(d.split()) <= 60][: args.spacy_docs]
    for step in (F.HasFiniteVerbFilter(), F.CompleteSentenceFilter()):
        F.linguistic.load_model(step.model)  # load outside the timing
        block = block_from_columns([str(i) for i in range(len(spacy_docs))], spacy_docs, "s", "{}")
        start = time.perf_counter()
        step.drop_reasons_block(block)
        seconds = time.perf_counter() - start
        print(
            f"spaCy {step.kind}: {len(spacy_docs) / seconds:,.0f} docs/s "
            f"({sum(len(d.split()) for d in spacy_docs) / seconds:,.0f} words/s, nlp.pipe batch "
            f"{step.batch_size})"
        )


if __name__ == "__main__":
    main()
