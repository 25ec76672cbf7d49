"""Requests a per-build ``max_words`` costs, by ``partition_headroom`` (not a speed benchmark).

The paraphrase recipe's generated part (``render: pair``) over the five shared Gutenberg files
(five partitions) against the local OpenAI-compatible test server: requests of a fresh build
(one worker), the candidate words stage 1 made, the words kept, and the requests of a rebuild with
two workers sharing the cache, whose shards must be byte-identical.

Run: ``PYTHONPATH=$PWD python benchmarks/generator_quota.py [max_words]``
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from corpuskit import Recipe, build
from corpuskit.testing.openai_server import OpenAITestServer, prompt_set_responder

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CORPUSKIT_DATA", REPO.parent / "shared" / "data"))


def recipe(base_url: str, max_words: int, headroom: float | None) -> Recipe:
    data = Recipe.from_yaml(REPO / "recipes" / "paraphrase.yaml").to_dict()
    data["sources"] = [s for s in data["sources"] if s["name"] == "sentences"]
    data["budget"] = None
    for step in data["generators"]:
        step.update(
            base_url=base_url,
            max_words=max_words,
            partition_headroom=headroom,
            max_cost_usd=None,
        )
    return Recipe.from_dict(data)


def main(max_words: int) -> None:
    os.environ.setdefault("OPENAI_API_KEY", "test-key")
    print(f"max_words={max_words:,}")
    print(
        "| headroom | requests | candidate words | kept words | trimmed docs | rebuild requests |"
    )
    print("|---|---|---|---|---|---|")
    with OpenAITestServer(prompt_set_responder) as server, tempfile.TemporaryDirectory() as tmp:
        for headroom in (1.0, 1.5, None):
            out = Path(tmp) / str(headroom)  # its own cache: every build starts cold
            server.clear()
            fresh = build(
                recipe(server.base_url, max_words, headroom), out=out, data_root=DATA, workers=1
            )
            asked = len(server.completions)
            server.clear()
            again = build(
                recipe(server.base_url, max_words, headroom),
                out=out,
                data_root=DATA,
                workers=2,
                overwrite=True,
            )
            same = [s["sha256"] for s in fresh.manifest["shards"]] == [
                s["sha256"] for s in again.manifest["shards"]
            ]
            assert same, "workers=1 and workers=2 gave different shards"
            report = fresh.manifest["reports"]["paraphrase"]
            print(
                f"| {headroom} | {asked} | {report['candidates']['words']:,} | "
                f"{report['kept']['words']:,} | {report['trimmed']['docs']:,} | "
                f"{len(server.completions)} |"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
