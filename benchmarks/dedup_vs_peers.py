"""MinHash dedup, end to end and signatures only: corpuskit vs datatrove, datasketch and rensa.

Run by hand (not a test):  python benchmarks/dedup_vs_peers.py --words 10000000

The corpus is synthetic (tests/dedup/planted.py): base documents of ~50 words drawn from a Zipf
vocabulary, plus planted exact copies (2% of bases), near copies with true word-5-gram Jaccard
≥ 0.85 (8%) and controls ≤ 0.72 (5%). Every method uses 128 permutations and word 5-grams at
threshold 0.8, and runs in its own process (so peak memory is its own). Precision and recall are
over planted pairs: a positive pair (Jaccard ≥ 0.8) is found when at least one of its two
documents is dropped; a drop is wrong when the document is in no positive pair, or when both
documents of a pair are dropped.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from _measure import own_peak_mib  # noqa: E402

NUM_PERM, NGRAM, THRESHOLD = 128, 5, 0.8


def make_corpus(words: int, folder: Path) -> dict[str, Any]:
    from tests.dedup.planted import planted_corpus

    n_base = max(words // 50 * 100 // 113, 100)
    planted = planted_corpus(
        n_base, n_base // 50, n_base * 8 // 100, n_base * 5 // 100, words=50, seed=1
    )
    ids = [i for i, _ in planted.docs]
    texts = [t for _, t in planted.docs]
    pq.write_table(pa.table({"id": ids, "text": texts}), folder / "corpus.parquet")
    with open(folder / "jsonl" / "corpus.jsonl", "w") as handle:
        for i, t in planted.docs:
            handle.write(json.dumps({"id": i, "text": t}) + "\n")
    pairs = {c: [b, j] for c, (b, j) in planted.copies.items()}
    (folder / "truth.json").write_text(json.dumps(pairs))
    return {"docs": len(ids), "words": sum(len(t.split()) for t in texts)}


def score(dropped: set[str], folder: Path) -> tuple[float, float]:
    pairs = json.loads((folder / "truth.json").read_text())
    positive = [(c, b) for c, (b, j) in pairs.items() if j >= THRESHOLD]
    members = {x for pair in positive for x in pair}
    found = sum(1 for c, b in positive if c in dropped or b in dropped)
    both = sum(1 for c, b in positive if c in dropped and b in dropped)
    wrong = len(dropped - members) + both
    precision = 1 - wrong / len(dropped) if dropped else 1.0
    return precision, found / len(positive)


def shingle_sets(texts: list[str]) -> list[list[str]]:
    """Word 5-gram strings of normalised texts (for the Python-fed peers; timed as theirs)."""
    from corpuskit.dedup.normalize import Normalization

    out = []
    for text in Normalization().apply(pa.array(texts, pa.large_string())).to_pylist():
        w = text.split()
        grams = [" ".join(w[i : i + NGRAM]) for i in range(len(w) - NGRAM + 1)] or [" ".join(w)]
        out.append(grams)
    return out


# ----- one method per process ------------------------------------------------------------------
def run_corpuskit(folder: Path) -> dict[str, Any]:
    from corpuskit.dedup import MinHashDedup
    from corpuskit.dedup.normalize import Normalization
    from corpuskit.dedup.shingles import shingle_hashes, token_hashes
    from corpuskit.dedup.signatures import numpy_signatures
    from corpuskit.document import block_from_columns
    from corpuskit.filters.base import as_string_array
    from corpuskit.step import RunContext

    raw = pq.read_table(folder / "corpus.parquet")
    table = block_from_columns(raw["id"].combine_chunks(), raw["text"].combine_chunks(), "s", "{}")
    step = MinHashDedup(threshold=THRESHOLD, num_perm=NUM_PERM, ngram=NGRAM)
    t0 = time.perf_counter()
    reasons = step.duplicates(table, RunContext(seed=0))
    e2e = time.perf_counter() - t0
    # the step's peak (table loaded + dedup); the signature timings below hold a whole matrix
    step_peak = own_peak_mib()
    t0 = time.perf_counter()
    units, offsets = token_hashes(Normalization().apply(table["text"]))
    shingles, sh_offsets = shingle_hashes(units, offsets, NGRAM)
    prep = time.perf_counter() - t0
    t0 = time.perf_counter()
    numpy_signatures(shingles, sh_offsets, NUM_PERM, 1)
    sig = time.perf_counter() - t0
    ids = table["id"].to_pylist()
    dropped = {
        i for i, r in zip(ids, as_string_array(reasons).to_pylist(), strict=True) if r is not None
    }
    return {
        "e2e_s": e2e,
        "sig_s": sig,
        "sig_from_text_s": sig + prep,
        "dropped": sorted(dropped),
        "peak_rss_mb": step_peak,
    }


def run_rensa(folder: Path) -> dict[str, Any]:
    from rensa import RMinHash

    from corpuskit.dedup.lsh import band_keys, candidate_pairs, connected_components
    from corpuskit.dedup.signatures import optimal_bands

    raw = pq.read_table(folder / "corpus.parquet")
    ids, texts = raw["id"].to_pylist(), raw["text"].to_pylist()
    t0 = time.perf_counter()
    sets = shingle_sets(texts)
    t1 = time.perf_counter()
    matrix = RMinHash.digest_matrix_from_token_sets(sets, NUM_PERM, 1)
    t2 = time.perf_counter()
    sig = np.asarray(matrix.to_rows(), dtype=np.uint32).reshape(len(ids), NUM_PERM)
    bands, rows = optimal_bands(THRESHOLD, NUM_PERM)  # datasketch's default weighting, no verify
    pairs = candidate_pairs(band_keys(sig, bands, rows), np.ones(len(ids), dtype=bool))
    labels = connected_components(len(ids), pairs)
    keep = labels == np.arange(len(ids))
    e2e = time.perf_counter() - t0
    dropped = {ids[i] for i in np.flatnonzero(~keep)}
    return {"e2e_s": e2e, "sig_s": t2 - t1, "sig_from_text_s": t2 - t0, "dropped": sorted(dropped)}


def run_datasketch(folder: Path) -> dict[str, Any]:
    from datasketch import MinHash, MinHashLSH

    raw = pq.read_table(folder / "corpus.parquet")
    ids, texts = raw["id"].to_pylist(), raw["text"].to_pylist()
    t0 = time.perf_counter()
    sets = shingle_sets(texts)
    t1 = time.perf_counter()
    hashes = []
    for grams in sets:
        mh = MinHash(num_perm=NUM_PERM, seed=1)
        mh.update_batch([g.encode() for g in grams])
        hashes.append(mh)
    t2 = time.perf_counter()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    dropped = set()
    for doc_id, mh in zip(ids, hashes, strict=True):
        if lsh.query(mh):
            dropped.add(doc_id)
        else:
            lsh.insert(doc_id, mh)
    e2e = time.perf_counter() - t0
    t3 = time.perf_counter()
    MinHash.bulk([[g.encode() for g in grams] for grams in sets], num_perm=NUM_PERM, seed=1)
    bulk = time.perf_counter() - t3
    return {
        "e2e_s": e2e,
        "sig_s": t2 - t1,
        "sig_from_text_s": t2 - t0,
        "bulk_s": bulk,
        "dropped": sorted(dropped),
    }


def run_datatrove(folder: Path) -> dict[str, Any]:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashes import xxhash as datatrove_xxhash

    # datatrove 0.10.1 passes str to xxhash, which xxhash >= 4 refuses; encode first (the cost is
    # counted in datatrove's time)
    def xxhash64(data: str | bytes) -> int:
        return xxhash.xxh64_intdigest(data.encode() if isinstance(data, str) else data)

    datatrove_xxhash.xxhash64 = xxhash64  # type: ignore[assignment]
    import xxhash

    work = folder / "datatrove"
    config = MinhashConfig(n_grams=NGRAM, num_buckets=16, hashes_per_bucket=8)
    reader = JsonlReader(str(folder / "jsonl"), id_key="id")
    stages = [
        [reader, MinhashDedupSignature(output_folder=str(work / "sigs"), config=config)],
        [
            MinhashDedupBuckets(
                input_folder=str(work / "sigs"), output_folder=str(work / "buckets"), config=config
            )
        ],
        [
            MinhashDedupCluster(
                input_folder=str(work / "buckets"),
                output_folder=str(work / "remove"),
                config=config,
            )
        ],
        [
            JsonlReader(str(folder / "jsonl"), id_key="id"),
            MinhashDedupFilter(
                input_folder=str(work / "remove"),
                exclusion_writer=JsonlWriter(str(work / "removed")),
            ),
        ],
    ]
    t0 = time.perf_counter()
    for i, pipeline in enumerate(stages):
        tasks = config.num_buckets if i == 1 else 1
        LocalPipelineExecutor(
            pipeline=pipeline, tasks=tasks, workers=1, logging_dir=str(work / f"logs{i}")
        ).run()
    e2e = time.perf_counter() - t0
    dropped = set()
    import gzip

    for path in (work / "removed").glob("*"):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as handle:
            dropped |= {json.loads(line)["id"] for line in handle}
    return {"e2e_s": e2e, "dropped": sorted(dropped)}


METHODS = {
    "corpuskit": run_corpuskit,
    "rensa": run_rensa,
    "datasketch": run_datasketch,
    "datatrove": run_datatrove,
}


def child(method: str, folder: Path) -> None:
    result = METHODS[method](folder)
    result.setdefault("peak_rss_mb", own_peak_mib())
    print("RESULT " + json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--words", type=int, default=10_000_000)
    parser.add_argument("--methods", default="corpuskit,rensa,datasketch,datatrove")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.folder))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "jsonl").mkdir()
        info = make_corpus(args.words, folder)
        print(f"corpus: {info['docs']:,} documents, {info['words']:,} words")
        results = {}
        for method in args.methods.split(","):
            proc = subprocess.run(
                [sys.executable, __file__, "--child", method, "--folder", str(folder)],
                capture_output=True,
                text=True,
                check=False,
            )
            line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
            if proc.returncode or not line:
                print(f"{method} failed:\n{proc.stderr[-2000:]}")
                continue
            results[method] = json.loads(line[0][7:])
            p, r = score(set(results[method]["dropped"]), folder)
            results[method].update(precision=p, recall=r)
        report(results, info["words"])


def report(results: dict[str, dict[str, Any]], words: int) -> None:
    def rate(seconds: float | None) -> str:
        return f"{words / seconds / 1e3:,.0f}k" if seconds else "–"

    print(
        "\n| method | end-to-end words/s | signatures words/s (from shingles) | "
        "signatures words/s (from text) | peak RSS MB | precision | recall | dropped |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {rate(r['e2e_s'])} | {rate(r.get('sig_s'))} | "
            f"{rate(r.get('sig_from_text_s'))} | {r['peak_rss_mb']:,.0f} | "
            f"{r['precision']:.3f} | {r['recall']:.3f} | {len(r['dropped']):,} |"
        )
    if "datasketch" in results:
        print(
            f"| datasketch MinHash.bulk | – | {rate(results['datasketch']['bulk_s'])} | – | – "
            "| – | – | – |"
        )
    ours = results.get("corpuskit")
    if ours:
        for peer, key in (
            ("datatrove", "e2e_s"),
            ("datasketch", "e2e_s"),
            ("rensa", "e2e_s"),
            ("rensa", "sig_s"),
            ("datasketch", "sig_s"),
        ):
            if peer in results and results[peer].get(key):
                ratio = results[peer][key] / ours[key]
                print(f"corpuskit vs {peer} ({key}): {ratio:.2f}x")


if __name__ == "__main__":
    main()
