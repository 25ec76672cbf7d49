"""The ``hf_dataset`` source: a Hugging Face dataset from a local path or (network allowing) hub.

A directory written by ``save_to_disk`` is opened with ``load_from_disk`` (memory-mapped, so
reading is constant-memory) and partitioned into fixed row ranges decided by its length. Any other
local path or a hub id goes through ``load_dataset``; ``streaming: true`` iterates it without
downloading it whole. Ids are ``<name>:<split>:<row>`` (0-based) unless ``id_field`` is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from pydantic import Field

from corpuskit.datapaths import display_path
from corpuskit.errors import InputError
from corpuskit.sources.records import BATCH_ROWS, RecordItem
from corpuskit.sources.render import RecordFieldsSource, RecordRenderer
from corpuskit.sources.tabular import emit_records, vector_blocks
from corpuskit.sources.textio import file_sha256
from corpuskit.step import CheckContext, RunContext

DISK_MARKERS = ("dataset_dict.json", "state.json")


class HFDatasetSource(RecordFieldsSource, kind="hf_dataset"):
    """A Hugging Face dataset: ``load_from_disk`` for saved datasets, else ``load_dataset``."""

    path: str = Field(
        description="a save_to_disk directory or data folder (relative: under the data root), "
        "or a hub id such as 'org/name' (needs the network unless cached)"
    )
    split: str = Field(default="train", description="split to read (for dataset dicts)")
    config: str | None = Field(default=None, description="dataset configuration name (hub)")
    streaming: bool = Field(default=False, description="iterate load_dataset without a download")
    rows_per_partition: int = Field(
        default=1_000_000, ge=1, description="rows per partition (saved datasets)"
    )

    def local_path(self, data_root: Path | None) -> Path | None:
        """The dataset's directory when the path is local, None for a hub id."""
        expanded = Path(os.path.expanduser(self.path))
        if expanded.is_absolute():
            if not expanded.exists():
                raise InputError(f"source {self.label}: no dataset at {expanded}")
            return expanded
        if data_root is not None and (data_root / expanded).exists():
            return data_root / expanded
        return None

    def saved(self, data_root: Path | None) -> Path | None:
        """The directory when it was written by ``save_to_disk``."""
        local = self.local_path(data_root)
        if local is not None and any((local / m).exists() for m in DISK_MARKERS):
            return local
        return None

    def input_files(self, ctx: CheckContext) -> list[Path]:
        local = self.local_path(ctx.data_root)
        if local is None:
            return []  # a hub dataset: identified by its id (and revision), not by local files
        if local.is_file():
            return [local]
        files = sorted(p for p in local.rglob("*") if p.is_file() and not p.name.startswith("."))
        return [
            p
            for p in files
            if p.suffix in (".arrow", ".parquet", ".jsonl", ".csv", ".json", ".txt")
        ]

    def _open(self, data_root: Path | None, streaming: bool = False) -> Any:
        import datasets

        saved = self.saved(data_root)
        try:
            if saved is not None:
                ds = datasets.load_from_disk(str(saved))
                return ds[self.split] if isinstance(ds, datasets.DatasetDict) else ds
            local = self.local_path(data_root)
            where = str(local) if local is not None else self.path
            return datasets.load_dataset(where, self.config, split=self.split, streaming=streaming)
        except (FileNotFoundError, ConnectionError, KeyError, ValueError, OSError) as exc:
            raise InputError(
                f"source {self.label}: cannot load {self.path!r} split {self.split!r}: {exc}",
                hint="use a local save_to_disk directory, or allow network access for hub ids",
            ) from exc

    def partitions(self, ctx: CheckContext) -> list[str]:
        if self.saved(ctx.data_root) is None:
            return ["all"]
        n = len(self._open(ctx.data_root))
        step = self.rows_per_partition
        return [f"rows:{start}:{min(start + step, n)}" for start in range(0, max(n, 1), step)]

    def renderer(self) -> RecordRenderer:
        return RecordRenderer(
            self.text_fields, self.join, self.template, self.id_field, self.meta_fields
        )

    def read_partition(self, key: str, ctx: RunContext) -> Iterator[pa.Table]:
        local = self.local_path(ctx.data_root)
        if key == "all" or key.startswith("rows:0:"):  # fingerprint once, not per row range
            for path in self.input_files(CheckContext(ctx.data_root)):
                ctx.record_input(display_path(path, ctx.data_root), file_sha256(path))
        shown = self.split
        base: dict[str, Any] = {**self.base_meta(), "dataset": self.path, "split": self.split}
        if local is not None:
            base["dataset"] = display_path(local, ctx.data_root)
        renderer = self.renderer()
        if key.startswith("rows:"):
            _, start, end = key.split(":")
            table = self._open(ctx.data_root).with_format("arrow")[int(start) : int(end)]
            batches = iter(table.to_batches(max_chunksize=BATCH_ROWS))
            if self.template is None and not self.meta_fields:
                yield from vector_blocks(
                    self.label, renderer, batches, shown, int(start), base, ctx
                )
                return
            rows = (RecordItem(int(start) + i, r) for i, r in enumerate(_rows(batches)))
        else:
            ds = self._open(ctx.data_root, streaming=self.streaming)
            rows = (RecordItem(i, dict(r)) for i, r in enumerate(ds))
        yield from emit_records(self.label, rows, shown, renderer, base, ctx)


def _rows(batches: Iterator[pa.RecordBatch]) -> Iterator[dict[str, Any]]:
    for batch in batches:
        yield from batch.to_pylist()
