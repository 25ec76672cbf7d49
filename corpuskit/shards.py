"""Arrow shards + manifest: the on-disk build format (see docs/shard-format.md).

A build directory holds HF ``save_to_disk`` layout files (``data-XXXXX-of-NNNNN.arrow`` in Arrow
IPC stream format, ``dataset_info.json``, ``state.json``), so ``datasets.load_from_disk`` opens it,
plus ``manifest.json``. Writes go to a temporary directory that is renamed into place, so a killed
build never leaves a half-written output. Readers refuse unknown major format versions.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpuskit.document import BLOCK_SCHEMA, Document, block_to_docs
from corpuskit.errors import FormatVersionError, InputError
from corpuskit.words import sum_words

FORMAT_VERSION = "1.0"
MANIFEST = "manifest.json"
BATCH_ROWS = 10_000
_FEATURE_TYPES = {pa.string(): "string", pa.large_string(): "large_string", pa.int64(): "int64"}


def hf_features(schema: pa.Schema) -> dict[str, Any]:
    return {f.name: {"dtype": _FEATURE_TYPES[f.type], "_type": "Value"} for f in schema}


def _with_hf_metadata(schema: pa.Schema) -> pa.Schema:
    info = {"info": {"features": hf_features(schema)}}
    return schema.with_metadata({"huggingface": json.dumps(info, sort_keys=True)})


def write_arrow_stream(
    rows: pa.Table | ShardRows,
    path: Path,
    on_batch: Callable[[pa.RecordBatch], None] | None = None,
) -> dict[str, Any]:
    """Write one shard deterministically; return its rows, words, bytes and sha256.

    Batches are gathered and written one at a time; ``on_batch`` sees each after it is written.
    """
    source = rows.table if isinstance(rows, ShardRows) else rows
    schema = _with_hf_metadata(source.schema)
    batches = rows.batches() if isinstance(rows, ShardRows) else fixed_batches(rows)
    n_rows = words = 0
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            for out in pa.Table.from_batches([batch]).cast(schema).to_batches():
                writer.write_batch(out)
            n_rows += batch.num_rows
            # The words column was counted from the text by count_words_array; verify() recounts.
            words += (
                int(pc.sum(batch["words"]).as_py() or 0)
                if "words" in batch.schema.names
                else sum_words(batch["text"])
            )
            if on_batch is not None:
                on_batch(batch)
    return {
        "file": path.name,
        "rows": n_rows,
        "words": words,
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ShardRows:
    """Rows of ``table``, in order, that make one shard; gathered only when the shard is written.

    Keeping shards lazy bounds stage-2 memory by one shard rather than the whole output, and by
    one record batch for a run of consecutive rows: a zero-copy slice of the (memory-mapped)
    staged table whose pages the writer can release batch by batch. A run is kept as its first
    row and length (``indices`` None), so no per-row array of the whole build outlives stage 2.
    """

    table: pa.Table
    indices: np.ndarray | None
    first: int = 0
    count: int = 0

    @classmethod
    def of(cls, table: pa.Table, indices: np.ndarray) -> ShardRows:
        """Rows ``indices`` of ``table``, stored as a run when they are consecutive."""
        first = int(indices[0]) if len(indices) else 0
        if not len(indices) or (
            int(indices[-1]) - first == len(indices) - 1 and bool(np.all(np.diff(indices) == 1))
        ):
            return cls(table, None, first, len(indices))
        return cls(table, indices)

    @property
    def num_rows(self) -> int:
        return self.count if self.indices is None else len(self.indices)

    def materialize(self) -> pa.Table:
        if self.indices is None:
            return self.table.slice(self.first, self.count)
        return self.table.take(pa.array(self.indices, pa.int64()))

    def batches(self, max_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """The shard's rows in batches of ``max_rows`` (the last one shorter): ``fixed_batches``.

        A run is gathered batch by batch from the memory-mapped staged files, so a writer that
        releases those pages after each batch holds one batch at a time. Scattered rows are
        taken for the whole shard at once.
        """
        yield from fixed_batches(self.materialize(), max_rows)


def fixed_batches(table: pa.Table, max_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """Record batches of exactly ``max_rows`` rows (the last one shorter), each a fresh copy.

    The IPC bytes of a shard follow its record batches, and a batch that is a zero-copy slice of
    a larger array is written with that array's padding, so each batch is gathered into fresh
    buffers: shard bytes then depend only on the rows and their order, not on how stage 1
    happened to block them (read chunk size, executor). A copy costs one batch of memory.
    """
    for start in range(0, table.num_rows, max_rows):
        window = table.slice(start, max_rows)
        yield from window.take(np.arange(window.num_rows)).to_batches()


def write_hf_layout(
    directory: Path,
    tables: Sequence[pa.Table | ShardRows],
    schema: pa.Schema,
    on_batch: Callable[[pa.RecordBatch], None] | None = None,
) -> list[dict[str, Any]]:
    """Write shards named like ``save_to_disk`` does, plus ``dataset_info.json``/``state.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    tables = tables or [schema.empty_table()]
    total = len(tables)
    shards = [
        write_arrow_stream(t, directory / f"data-{i:05d}-of-{total:05d}.arrow", on_batch)
        for i, t in enumerate(tables)
    ]
    info = {"citation": "", "description": "", "features": hf_features(schema), "homepage": ""}
    state: dict[str, Any] = {
        "_data_files": [{"filename": s["file"]} for s in shards],
        "_fingerprint": hashlib.sha256("".join(s["sha256"] for s in shards).encode()).hexdigest()[
            :16
        ],
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": None,
    }
    _write_json(directory / "dataset_info.json", info)
    _write_json(directory / "state.json", state)
    return shards


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def publish(tmp_dir: Path, final_dir: Path, *, overwrite: bool) -> None:
    """Atomically move a finished build into place (replacing an old one only if asked)."""
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    if final_dir.exists():
        if not overwrite:
            raise AssertionError("publish called on an existing build without overwrite")
        graveyard = final_dir.with_name(f".old-{final_dir.name}-{os.getpid()}")
        final_dir.rename(graveyard)
        tmp_dir.rename(final_dir)
        shutil.rmtree(graveyard, ignore_errors=True)
    else:
        tmp_dir.rename(final_dir)


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    _write_json(directory / MANIFEST, manifest)


# ----- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Build:
    """An opened build directory: its manifest and its shards."""

    path: Path
    manifest: dict[str, Any]

    @property
    def recipe_hash(self) -> str:
        return str(self.manifest["recipe_hash"])

    @property
    def stages(self) -> list[dict[str, Any]]:
        """[{name, shards: [file, ...], rows, words}] in training order."""
        return list(self.manifest.get("stages", []))

    def shard_files(self, stage: str | None = None) -> list[Path]:
        if stage is None:
            return [self.path / s["file"] for s in self.manifest["shards"]]
        for entry in self.stages:
            if entry["name"] == stage:
                return [self.path / f for f in entry["shards"]]
        names = [s["name"] for s in self.stages]
        raise InputError(f"build {self.path} has no stage {stage!r}", hint=f"stages: {names}")

    def table(self, stage: str | None = None, columns: list[str] | None = None) -> pa.Table:
        """All rows (of one stage) as an Arrow table, memory-mapped."""
        tables = [read_arrow_stream(p) for p in self.shard_files(stage)]
        table = pa.concat_tables(tables) if tables else BLOCK_SCHEMA.empty_table()
        return table.select(columns) if columns else table

    def batches(self, stage: str | None = None) -> Iterator[pa.RecordBatch]:
        for path in self.shard_files(stage):
            yield from read_arrow_stream(path).to_batches()

    def documents(self, stage: str | None = None) -> Iterator[Document]:
        for path in self.shard_files(stage):
            yield from block_to_docs(read_arrow_stream(path))


def read_arrow_stream(path: Path) -> pa.Table:
    with pa.memory_map(str(path), "r") as source:
        return pa.ipc.open_stream(source).read_all()


def open_build(path: str | Path) -> Build:
    """Open a build directory, refusing unknown major format versions."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise InputError(
            f"{path} is not a corpuskit build (no {MANIFEST})",
            hint="pass a directory written by `corpuskit build`, e.g. out/<name>/<hash>",
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{manifest_path}: unreadable manifest ({exc})") from None
    version = str(manifest.get("format_version", "?"))
    if version.split(".")[0] != FORMAT_VERSION.split(".")[0]:
        raise FormatVersionError(
            f"{manifest_path}: format version {version} is not readable by this corpuskit "
            f"(reads {FORMAT_VERSION.split('.')[0]}.x)"
        )
    return Build(path, manifest)


def read_shards(path: str | Path, *, stage: str | None = None) -> Iterator[Document]:
    """Documents of a build in training order (one stage, or all stages in order)."""
    return open_build(path).documents(stage)


def verify(path: str | Path) -> list[str]:
    """Problems found when re-checking every shard against the manifest (empty list: all good)."""
    build = open_build(path)
    problems = []
    total_words = 0
    for shard in build.manifest["shards"]:
        file = build.path / shard["file"]
        if not file.is_file():
            problems.append(f"{shard['file']}: missing")
            continue
        if sha256_file(file) != shard["sha256"]:
            problems.append(f"{shard['file']}: sha256 differs from the manifest")
        table = read_arrow_stream(file)
        words = sum_words(table["text"])
        total_words += words
        if table.num_rows != shard["rows"] or words != shard["words"]:
            problems.append(f"{shard['file']}: rows/words differ from the manifest")
    if total_words != build.manifest["totals"]["words"]:
        problems.append("total words differ from the manifest")
    return problems
