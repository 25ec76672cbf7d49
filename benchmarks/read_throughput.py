"""Reading throughput of corpuskit sources (records/s, MB/s) next to a named peer on the same input.

    python benchmarks/read_throughput.py --lines 400000

The text/jsonl/parquet inputs are made in a temporary folder by cycling the lines of the shared
Gutenberg and WikiText files to ``--lines`` lines; the Wiktionary input is the shared test dump.
Each corpuskit source is read through ``partitions()`` + ``read_partition()`` in this process (one
core, what one build worker does: Arrow blocks with ids, meta and word counts). Peers:

- text: a plain Python loop over the file's lines (strip + split), the floor for any line reader;
- jsonl / parquet: datatrove's ``JsonlReader`` / ``ParquetReader`` (Document objects);
- wiktionary: ``xml.etree.ElementTree.iterparse`` over the same dump without any entry parsing
  or rendering (so the ratio is the price of English-entry extraction and wikitext rendering).

MB/s is the input's size on disk (the Wiktionary dump is bz2: 2.2 MB compressed, 9.5 MB XML).
"""

from __future__ import annotations

import argparse
import bz2
import json
import os
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CORPUSKIT_DATA", REPO.parent / "shared" / "data"))
DUMP = DATA / "wiktionary" / "enwiktionary-test-pages-articles.xml.bz2"


def make_inputs(folder: Path, lines: int) -> dict[str, Path]:
    pool: list[str] = []
    for path in sorted((DATA / "gutenberg").glob("*.txt")) + sorted(
        (DATA / "wikipedia").glob("*.txt")
    ):
        pool += [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    rows = [pool[i % len(pool)] for i in range(lines)]
    (folder / "text").mkdir()
    (folder / "jsonl").mkdir()
    (folder / "parquet").mkdir()
    paths = {
        "text": folder / "text" / "corpus.txt",
        "jsonl": folder / "jsonl" / "corpus.jsonl",
        "parquet": folder / "parquet" / "corpus.parquet",
    }
    paths["text"].write_text("\n".join(rows) + "\n", encoding="utf-8")
    with paths["jsonl"].open("w", encoding="utf-8") as handle:
        for i, row in enumerate(rows):
            handle.write(json.dumps({"id": str(i), "text": row}) + "\n")
    table = pa.table({"id": [str(i) for i in range(lines)], "text": rows})
    pq.write_table(table, paths["parquet"], row_group_size=100_000)
    return paths


def read_corpuskit(source: object) -> int:
    from corpuskit.step import CheckContext, RunContext

    ctx = RunContext(seed=0, data_root=DATA)
    rows = 0
    for key in source.partitions(CheckContext(DATA)):  # type: ignore[attr-defined]
        for block in source.read_partition(key, ctx):  # type: ignore[attr-defined]
            rows += block.num_rows
    return rows


def peer_lines(path: Path) -> int:
    rows = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                rows += len(line.split()) >= 0
    return rows


def peer_datatrove(kind: str, path: Path) -> int:
    from datatrove.pipeline.readers import JsonlReader, ParquetReader
    from loguru import logger

    logger.remove()  # datatrove logs each file it opens; keep the table readable

    reader_cls = JsonlReader if kind == "jsonl" else ParquetReader
    reader = reader_cls(str(path.parent), glob_pattern=path.name, text_key="text", id_key="id")
    return sum(1 for _ in reader.run(None, rank=0, world_size=1))


def peer_iterparse(path: Path) -> int:
    pages = 0
    with bz2.open(path, "rb") as handle:
        events = ET.iterparse(handle, events=("start", "end"))
        _, root = next(events)
        for event, elem in events:
            if event == "end" and elem.tag.endswith("}page"):
                pages += 1
                root.clear()
    return pages


def timed(fn: Callable[[], int]) -> tuple[int, float]:
    start = time.perf_counter()
    rows = fn()
    return rows, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=400_000, help="lines of generated input")
    args = parser.parse_args()

    from corpuskit.sources import JsonlSource, ParquetSource, TextSource, WiktionarySource

    with tempfile.TemporaryDirectory() as tmp:
        paths = make_inputs(Path(tmp), args.lines)
        cases: list[tuple[str, Path, Callable[[], int], str, Callable[[], int]]] = [
            ("text", paths["text"], lambda: read_corpuskit(TextSource(paths=[str(paths["text"])])),
             "python line loop", lambda: peer_lines(paths["text"])),
            ("jsonl", paths["jsonl"], lambda: read_corpuskit(JsonlSource(paths=[str(paths["jsonl"])], id_field="id")),
             "datatrove JsonlReader", lambda: peer_datatrove("jsonl", paths["jsonl"])),
            ("parquet", paths["parquet"], lambda: read_corpuskit(ParquetSource(paths=[str(paths["parquet"])], id_field="id")),
             "datatrove ParquetReader", lambda: peer_datatrove("parquet", paths["parquet"])),
            ("wiktionary", DUMP, lambda: read_corpuskit(WiktionarySource(paths=[str(DUMP)])),
             "ET.iterparse (no parsing)", lambda: peer_iterparse(DUMP)),
        ]  # fmt: skip
        header = f"{'source':<11} {'records':>9} {'s':>7} {'records/s':>11} {'MB/s':>7} | {'peer':<26} {'records':>9} {'s':>7} {'MB/s':>7} {'ratio':>6}"
        print(header)
        print("-" * len(header))
        for name, path, ours, peer_name, peer in cases:
            mb = path.stat().st_size / 1e6
            rows, seconds = timed(ours)
            peer_rows, peer_seconds = timed(peer)
            print(
                f"{name:<11} {rows:>9,} {seconds:>7.2f} {rows / seconds:>11,.0f} {mb / seconds:>7.1f} | "
                f"{peer_name:<26} {peer_rows:>9,} {peer_seconds:>7.2f} {mb / peer_seconds:>7.1f} "
                f"{peer_seconds / seconds:>6.2f}"
            )
        print("ratio = peer time / corpuskit time (>1: corpuskit faster)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
