"""Small corpora written by the tests themselves (no third-party text)."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

WORDS = [
    "the",
    "a",
    "cat",
    "dog",
    "bird",
    "sees",
    "likes",
    "runs",
    "jumps",
    "over",
    "under",
    "small",
    "big",
    "red",
    "blue",
    "happy",
    "child",
    "mother",
    "father",
    "ball",
    "tree",
    "house",
    "water",
    "sun",
    "moon",
    "quickly",
    "slowly",
    "and",
    "but",
    "then",
]


def sentence(rng: random.Random, lo: int = 1, hi: int = 14) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def write_corpus(directory: Path, files: int = 4, lines: int = 300, seed: int = 0) -> list[Path]:
    """Text files with one sentence per line (some blank lines, some one-word lines)."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(files):
        rows = [sentence(rng) if rng.random() > 0.05 else "" for _ in range(lines)]
        path = directory / f"part{index}.txt"
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def shard_hashes(build_path: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(build_path.glob("data-*.arrow"))
    }


def recipe_dict(
    corpus: Path, *, total: int | None = 2000, min_words: int = 2, **extra: object
) -> dict:
    data: dict = {
        "name": "t",
        "seed": 7,
        "sources": [{"kind": "text", "name": "toy", "paths": [str(corpus / "*.txt")]}],
        "filters": [{"kind": "word_count", "min_words": min_words}],
        "output": {"shard_words": 700},
    }
    if total is not None:
        data["budget"] = {"kind": "words", "total": total}
    data.update(extra)
    return data
