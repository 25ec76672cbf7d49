"""Shards → token ids → packed fixed-length blocks, in a deterministic order per seed and epoch.

Every document becomes ``<s> ids </s>``; documents are concatenated in build order, one stage after
another, into a memory-mapped token file cached per (build, tokenizer, held-out fraction). A stage's
stream is cut into blocks of ``block_size + 1`` tokens that overlap by one (input = block[:-1],
target = block[1:]), so no token is lost between blocks. Blocks never cross a stage boundary.

The order of blocks is a pure function of (seed, stage, epoch): the data position is a single
integer ``cursor`` (blocks consumed so far), which is all a checkpoint needs to resume exactly.
Held-out documents are chosen by a hash of their id (salted, independent of the training seed), so
every run on a build sees the same validation slice.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import xxhash
from transformers import PreTrainedTokenizerFast

from corpuskit.shards import Build
from trainers.errors import EmptyBuildError
from trainers.tokenizer import BOS, EOS

VAL_SALT = 0x5EED  # fixed: the held-out slice does not move with the training seed
DATA_VERSION = 1


def is_held_out(doc_id: str, fraction: float) -> bool:
    return fraction > 0 and xxhash.xxh3_64_intdigest(doc_id.encode(), VAL_SALT) < fraction * 2.0**64


@dataclass(frozen=True)
class TokenStore:
    """The cached token files of one build: ``train.bin`` (stages back to back) and ``val.bin``."""

    folder: Path
    index: dict[str, Any]

    def tokens(self, split: str = "train") -> np.ndarray:
        n = self.index[f"{split}_tokens"]
        if n == 0:
            return np.zeros(0, dtype=self.index["dtype"])
        return np.memmap(
            self.folder / f"{split}.bin", dtype=self.index["dtype"], mode="r", shape=(n,)
        )

    @property
    def stages(self) -> list[dict[str, Any]]:
        """[{name, offset, tokens, docs}] in training order."""
        return list(self.index["stages"])


def tokenize_build(
    build: Build, tok: PreTrainedTokenizerFast, tok_digest: str, val_fraction: float, cache: Path
) -> TokenStore:
    """Tokenize every document once (cached); split off the held-out documents."""
    key = f"{build.recipe_hash}-{tok_digest[:12]}-v{val_fraction:g}-d{DATA_VERSION}"
    folder = cache / "tokens" / key
    if (folder / "index.json").is_file():
        return TokenStore(folder, json.loads((folder / "index.json").read_text()))
    tmp = folder.with_name(f".tmp-{key}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    dtype = np.uint16 if len(tok) <= 2**16 else np.uint32
    stage_names = [s["name"] for s in build.stages] or [None]
    index: dict[str, Any] = {"dtype": np.dtype(dtype).name, "stages": [], "val_docs": 0}
    counts = {"train": 0, "val": 0}
    backend = tok.backend_tokenizer
    with (tmp / "train.bin").open("wb") as train_f, (tmp / "val.bin").open("wb") as val_f:
        for name in stage_names:
            start, docs = counts["train"], 0
            for batch in build.batches(name):
                ids, texts = batch.column("id").to_pylist(), batch.column("text").to_pylist()
                encodings = backend.encode_batch(texts, add_special_tokens=False)
                for doc_id, enc in zip(ids, encodings, strict=True):
                    split = "val" if is_held_out(doc_id, val_fraction) else "train"
                    row = np.array([BOS, *enc.ids, EOS], dtype=dtype)
                    (val_f if split == "val" else train_f).write(row.tobytes())
                    counts[split] += len(row)
                    docs += split == "train"
                    index["val_docs"] += split == "val"
            stage = {"name": name or "main", "offset": start, "tokens": counts["train"] - start}
            index["stages"].append({**stage, "docs": docs})
    index.update(train_tokens=counts["train"], val_tokens=counts["val"])
    (tmp / "index.json").write_text(json.dumps(index, indent=1))
    if folder.exists():
        shutil.rmtree(tmp)
    else:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(folder)
    return TokenStore(folder, index)


@dataclass
class BlockOrder:
    """All training blocks of all epochs, in order; ``batch(cursor, n)`` reads n of them."""

    store: TokenStore
    block_size: int
    seed: int
    epochs: int
    curriculum: str = "stage_major"
    _perms: dict[tuple[int, int], np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.stage_blocks = [
            max(0, (s["tokens"] - 1) // self.block_size) for s in self.store.stages
        ]
        stages = range(len(self.stage_blocks))
        if self.curriculum == "stage_major":
            self.segments = [(s, e) for s in stages for e in range(self.epochs)]
        else:
            self.segments = [(s, e) for e in range(self.epochs) for s in stages]
        sizes = [self.stage_blocks[s] for s, _ in self.segments]
        self.segment_starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    @cached_property
    def tokens(self) -> np.ndarray:
        return self.store.tokens("train")  # opened on first read: ordering needs no file

    @property
    def blocks_per_epoch(self) -> int:
        return sum(self.stage_blocks)

    def __len__(self) -> int:
        return int(self.segment_starts[-1])

    def permutation(self, stage: int, epoch: int) -> np.ndarray:
        """Block order inside one stage for one epoch: seeded by (seed, stage, epoch) only."""
        if (stage, epoch) not in self._perms:
            rng = np.random.default_rng([self.seed, stage, epoch])
            # Keep only the current segment's permutation: memory stays O(blocks of one stage).
            self._perms = {(stage, epoch): rng.permutation(self.stage_blocks[stage])}
        return self._perms[(stage, epoch)]

    def locate(self, position: int) -> tuple[int, int, int]:
        """(stage, epoch, block index within the stage) of the block at global ``position``."""
        seg = int(np.searchsorted(self.segment_starts, position, side="right")) - 1
        stage, epoch = self.segments[seg]
        block = int(self.permutation(stage, epoch)[position - self.segment_starts[seg]])
        return stage, epoch, block

    def batch(self, cursor: int, n: int) -> np.ndarray:
        """Blocks ``cursor .. cursor+n-1`` as an int64 array (n, block_size + 1)."""
        out = np.empty((n, self.block_size + 1), dtype=np.int64)
        for row in range(n):
            stage, _, block = self.locate(cursor + row)
            start = self.store.stages[stage]["offset"] + block * self.block_size
            out[row] = self.tokens[start : start + self.block_size + 1]
        return out

    def epoch_of(self, cursor: int) -> float:
        """Passes over the data completed at ``cursor`` (fractional)."""
        return cursor / max(1, self.blocks_per_epoch)


def val_blocks(store: TokenStore, block_size: int, n: int) -> np.ndarray:
    """The first ``n`` held-out blocks (fixed for a build), (m, block_size + 1), m ≤ n."""
    tokens = store.tokens("val")
    m = min(n, max(0, (len(tokens) - 1) // block_size))
    rows = [tokens[i * block_size : i * block_size + block_size + 1] for i in range(m)]
    return np.stack(rows).astype(np.int64) if rows else np.zeros((0, block_size + 1), np.int64)


def check_trainable(order: BlockOrder, per_step: int, build: Build) -> int:
    """Optimizer steps the data allows; raise a one-line error when it is not even one."""
    steps = len(order) // per_step
    if (
        build.manifest.get("totals", {}).get("docs", 1) == 0
        or order.store.index["train_tokens"] == 0
    ):
        raise EmptyBuildError(f"build {build.path} has no training documents")
    if steps == 0:
        raise EmptyBuildError(
            f"build {build.path} is too small: {order.blocks_per_epoch} blocks of "
            f"{order.block_size} tokens per epoch, {per_step} needed per step",
            hint="lower block_size, batch_size or grad_accum, or build more data",
        )
    return steps
