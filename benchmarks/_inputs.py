"""Benchmark inputs: BabyLM-style text made from the shared data (Gutenberg + Switchboard lines),
and ``key=value`` command-line overrides."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CORPUSKIT_DATA", REPO.parent / "shared" / "data"))


def shared_lines() -> list[str]:
    """Non-blank Gutenberg lines, then Switchboard utterances (text only)."""
    lines = []
    for path in sorted((DATA / "gutenberg").glob("*.txt")):
        lines += [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    with gzip.open(DATA / "switchboard" / "swda_all_dialogues.txt.gz", "rt") as handle:
        lines += [ln.split("|")[1] for ln in handle if ln.count("|") >= 2]
    return lines


def make_input(directory: Path, words: int, files: int, *, jsonl: bool = False) -> int:
    """Write ``files`` text files (and jsonl twins if asked) cycling the shared lines to ``words``."""
    lines = shared_lines()
    directory.mkdir(parents=True, exist_ok=True)
    per_file, total, i = words // files, 0, 0
    for f in range(files):
        got = 0
        txt = (directory / f"part{f:02d}.txt").open("w")
        twin = (directory / f"part{f:02d}.jsonl").open("w") if jsonl else None
        with txt:
            while got < per_file:
                line = lines[i % len(lines)]
                i += 1
                txt.write(line + "\n")
                if twin is not None:
                    twin.write(json.dumps({"text": line, "id": f"{f}-{i}"}) + "\n")
                got += len(line.split())
        if twin is not None:
            twin.close()
        total += got
    return total


def key_values(items: list[str], flag: str) -> dict[str, Any]:
    """``key=value`` overrides (values read as YAML); one line naming ``flag`` when one is not."""
    import yaml

    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"{flag} {item!r} is not key=value")
        pairs[key.strip()] = yaml.safe_load(value)
    return pairs
