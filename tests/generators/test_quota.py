"""max_words per build (partition allowances, then an exact trim in hash order), rate limits per
build, and ``render: pair``, against the real local OpenAI-compatible server."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from corpuskit import Recipe, build, count_words
from corpuskit.document import Document, docs_to_block
from corpuskit.generators import Generator, ParaphraseGenerator, TemplateGenerator
from corpuskit.generators.quota import partition_allowance, rate_share
from corpuskit.hashing import hash_keys
from corpuskit.shards import read_arrow_stream
from corpuskit.step import RunContext
from corpuskit.testing.openai_server import OpenAITestServer, prompt_set_responder
from tests.generators.conftest import llm_recipe

FILES = 4
LINES = 10
LONGEST = 4 + 9  # words of the longest paraphrase: "Put another way (s.i)," + a 9-word seed


def seed_files(root: Path) -> list[str]:
    """Four files of ten sentences of 5 to 9 words (partitions of one text source), relative to
    ``root`` (build with ``data_root=root``)."""
    paths = []
    for f in range(FILES):
        lines = [
            " ".join([f"File{f} line{i} says"] + ["word"] * (2 + (i + f) % 5)) + "."
            for i in range(LINES)
        ]
        (root / f"part{f}.txt").write_text("\n".join(lines) + "\n")
        paths.append(f"part{f}.txt")  # under the data root: ids do not name the temp dir
    return paths


def quota_recipe(base_url: str, paths: list[str], **gen: Any) -> Recipe:
    step = {
        "kind": "paraphrase",
        "only_sources": ["books"],
        "model": "test-model",
        "base_url": base_url,
        "api_key_env": None,
        "k": 2,
        "keep_seeds": False,
        "concurrency": 1,
        **gen,
    }
    return Recipe.from_dict(
        {
            "name": "quota",
            "seed": 7,
            "sources": [{"kind": "text", "name": "books", "paths": paths}],
            "generators": [step],
        }
    )


def shard_bytes(path: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(path.glob("data-*.arrow"))]


def rejects_of(result: Any, reason: str) -> list[dict[str, Any]]:
    files = sorted((result.path / "rejects").glob("data-*.arrow"))
    rows = pa.concat_tables(read_arrow_stream(f) for f in files).to_pylist()
    return [r for r in rows if r["reason"] == reason]


def test_max_words_is_met_exactly_for_the_whole_build(
    server: OpenAITestServer, tmp_path: Path
) -> None:
    paths = seed_files(tmp_path)
    recipe = quota_recipe(server.base_url, paths, max_words=150)
    one = build(recipe, out=tmp_path / "w1", data_root=tmp_path, workers=1, keep_rejects=True)
    made = list(one.open().documents())
    kept_words = sum(d.words for d in made)
    trimmed = rejects_of(one, "generator_quota")
    # Golden (corpuskit.hashing order, the same on every machine): 5 trimmed, 144 words kept.
    assert (len(trimmed), kept_words) == (5, 144)
    # Stage 1: each of the 4 partitions stops at ceil(1.5 * 150 / 4) = 57 words.
    allowance = math.ceil(1.5 * 150 / FILES)
    ledger = {row["step"]: row for row in one.manifest["ledger"]}
    counters = ledger["paraphrase"]["counters"]
    assert counters["quota_reached"] == FILES
    candidates = made + [Document(r["id"], r["text"], r["source"], {}) for r in trimmed]
    assert counters["generated_words"] == sum(d.words for d in candidates) <= FILES * allowance
    assert len(server.completions) < FILES * LINES  # not every seed was asked
    # Stage 2: the kept documents are the longest prefix of the hash order within 150 words.
    ids = [d.id for d in candidates]
    order = np.argsort(hash_keys(ids, 7, salt="paraphrase"), kind="stable")
    words = np.cumsum([candidates[i].words for i in order])
    n_kept = int((words <= 150).sum())
    assert {d.id for d in made} == {ids[i] for i in order[:n_kept]}
    next_doc = candidates[order[n_kept]].words
    assert 150 - next_doc < kept_words <= 150
    assert one.manifest["synthetic"]["words"] == kept_words
    trimmed_words = sum(r["words"] for r in trimmed)
    assert one.manifest["reports"]["paraphrase"] == {
        "kind": "paraphrase",
        "max_words": 150,
        "candidates": {"docs": len(candidates), "words": kept_words + trimmed_words},
        "kept": {"docs": len(made), "words": kept_words},
        "trimmed": {"docs": len(trimmed), "words": trimmed_words},
    }
    assert ledger["paraphrase"]["dropped"]["generator_quota"] == {
        "docs": len(trimmed),
        "words": trimmed_words,
    }
    assert ledger["paraphrase"]["words_out"] == kept_words  # seeds not kept, trimmed removed
    # Two workers, and the files listed in reverse, give the same bytes (answers are cached).
    two = build(recipe, out=tmp_path / "w2", workers=2, data_root=tmp_path)
    assert shard_bytes(two.path) == shard_bytes(one.path)
    backwards = quota_recipe(server.base_url, paths[::-1], max_words=150)
    three = build(backwards, out=tmp_path / "w3", workers=2, data_root=tmp_path)
    assert shard_bytes(three.path) == shard_bytes(one.path)


def test_a_larger_quota_asks_only_for_new_answers(server: OpenAITestServer, tmp_path: Path) -> None:
    paths = seed_files(tmp_path)
    build(
        quota_recipe(server.base_url, paths, max_words=100),
        out=tmp_path / "out",
        workers=2,
        data_root=tmp_path,
    )
    first = {r.prompt for r in server.completions}
    server.clear()
    bigger = build(
        quota_recipe(server.base_url, paths, max_words=200),
        out=tmp_path / "out",
        workers=2,
        data_root=tmp_path,
    )
    second = {r.prompt for r in server.completions}
    assert first and second and not first & second
    counters = {row["step"]: row for row in bigger.manifest["ledger"]}["paraphrase"]["counters"]
    assert counters["cache_hits"] == len(first)
    assert 200 - LONGEST < sum(d.words for d in bigger.open().documents()) <= 200


def test_null_headroom_gives_every_partition_the_whole_quota(
    server: OpenAITestServer, tmp_path: Path
) -> None:
    paths = seed_files(tmp_path)[:2]
    recipe = quota_recipe(server.base_url, paths, max_words=60, partition_headroom=None)
    result = build(recipe, out=tmp_path / "out", workers=1, data_root=tmp_path)
    report = result.manifest["reports"]["paraphrase"]
    assert 60 < report["candidates"]["words"] <= 2 * 60
    assert 60 - LONGEST < report["kept"]["words"] <= 60


@pytest.mark.parametrize(
    ("partitions", "headroom", "max_words", "expected"),
    [
        ({"books": 4}, 1.5, 150, 57),
        ({"books": 4}, None, 150, 150),
        ({"books": 1}, 1.5, 150, 150),
        ({"books": 3, "other": 5}, 2.0, 10, 7),  # only the 3 partitions of 'books' count
        ({"books": 2}, 10.0, 10, 10),  # never above max_words
        ({}, 1.5, 10, 10),  # outside a build: one partition
    ],
)
def test_partition_allowance(
    partitions: dict[str, int], headroom: float | None, max_words: int, expected: int
) -> None:
    gen = TemplateGenerator(
        patterns=["x"], only_sources=["books"], max_words=max_words, partition_headroom=headroom
    )
    ctx = RunContext(seed=0, partitions=partitions)
    assert partition_allowance(gen, ctx) == expected


def test_rate_limits_are_shared_by_the_workers_running_at_once() -> None:
    gen = ParaphraseGenerator(model="m", only_sources=["books"], rpm=600, tpm=90_000)
    assert rate_share(600, gen, RunContext(seed=0, partitions={"books": 8}, workers=4)) == 150
    # two partitions of the generator's source: at most two workers run it at once
    assert rate_share(600, gen, RunContext(seed=0, partitions={"books": 2}, workers=4)) == 300
    assert rate_share(None, gen, RunContext(seed=0, workers=4)) is None


class WorkersProbe(Generator, kind="workers_probe_test"):
    """Records the build facts its task sees (as counters) and generates nothing."""

    def process(self, block: pa.Table, ctx: RunContext, label: str) -> pa.Table:
        ctx.count(label, f"workers_{ctx.workers}")
        ctx.count(label, f"partitions_{ctx.partitions['books']}")
        ctx.count(label, f"run_{int(bool(ctx.run_id))}")
        return block


def test_executor_tells_tasks_the_workers_and_partitions(tmp_path: Path) -> None:
    paths = seed_files(tmp_path)
    recipe = Recipe.from_dict(
        {
            "name": "probe",
            "sources": [{"kind": "text", "name": "books", "paths": paths}],
            "generators": [{"kind": "workers_probe_test"}],
        }
    )
    result = build(recipe, out=tmp_path / "out", workers=3, data_root=tmp_path)
    counters = {r["step"]: r for r in result.manifest["ledger"]}["workers_probe_test"]["counters"]
    assert counters == {"workers_3": FILES, "partitions_4": FILES, "run_1": FILES}


def test_template_quota_holds_across_partitions(tmp_path: Path) -> None:
    paths = seed_files(tmp_path)
    step = {
        "kind": "template",
        "patterns": ["The {noun} {verb} {text}"],
        "words": {"noun": ["cat", "dog"], "verb": ["runs", "sleeps"]},
        "keep_seeds": False,
        "max_words": 101,
    }
    recipe = {
        "name": "tmpl",
        "sources": [{"kind": "text", "name": "books", "paths": paths}],
        "generators": [step],
    }
    result = build(Recipe.from_dict(recipe), out=tmp_path / "out", workers=2, data_root=tmp_path)
    words = [d.words for d in result.open().documents()]
    assert 101 - max(words) < sum(words) <= 101
    assert result.manifest["reports"]["template"]["trimmed"]["docs"] > 0


def test_pair_rendering_gives_seed_then_paraphrase(
    server: OpenAITestServer, tmp_path: Path
) -> None:
    seed = "The cat sat on the mat."
    pair = f"{seed} Put another way (7.0), {seed}"
    step = {"kind": "paraphrase", "k": 2, "keep_seeds": False, "render": "pair"}
    step["max_words"] = count_words(pair)  # room for one pair (16 words), not two
    data = llm_recipe(server.base_url, [seed, "Another seed sentence here."], step)
    result = build(Recipe.from_dict(data), out=tmp_path / "out", workers=1, data_root=tmp_path)
    docs = list(result.open().documents())
    assert [(d.id, d.text) for d in docs] == [("seeds:0~paraphrase:0:0:0", pair)]
    assert docs[0].meta["seed_id"] == "seeds:0"
    assert docs[0].meta["generator"]["render"] == "pair"
    assert count_words(pair) == 16 == result.manifest["totals"]["words"]


def test_pair_rendering_reuses_the_answers_of_plain_output(
    server: OpenAITestServer, tmp_path: Path
) -> None:
    seeds = ["One short sentence to paraphrase.", "A second short sentence here."]
    plain = llm_recipe(server.base_url, seeds, {"kind": "paraphrase", "keep_seeds": False})
    build(Recipe.from_dict(plain), out=tmp_path / "out", workers=1, data_root=tmp_path)
    server.clear()
    paired = llm_recipe(
        server.base_url, seeds, {"kind": "paraphrase", "keep_seeds": False, "render": "pair"}
    )
    result = build(Recipe.from_dict(paired), out=tmp_path / "out", workers=1, data_root=tmp_path)
    assert server.completions == []  # rendering is not part of the request
    texts = sorted(d.text for d in result.open().documents())
    assert texts[0] == f"{seeds[1]} Put another way (7.0), {seeds[1]}"
    assert len(texts) == 6


def test_block_level_generator_output_is_marked_with_its_step() -> None:
    class Echo(Generator):
        def generate(self, doc: Document) -> list[Document]:
            return [Document(doc.id + "~echo", doc.text, doc.source, {"license": "x"})]

    block = docs_to_block([Document("a", "one two", "s", {})])
    out = Echo(keep_seeds=False).process(block, RunContext(seed=0), "echo")
    assert out["meta"].to_pylist() == [
        '{"generator":{"step":"echo"},"license":"x","synthetic":true}'
    ]


def test_a_rebuild_past_a_full_quota_makes_no_request(tmp_path: Path) -> None:
    seeds = [f"Rebuild seed sentence number {i} here." for i in range(30)]
    step = {"kind": "paraphrase", "keep_seeds": False, "concurrency": 4, "max_words": 60}
    with OpenAITestServer(prompt_set_responder, delay_s=0.02) as server:
        recipe = Recipe.from_dict(llm_recipe(server.base_url, seeds, step))
        first = build(recipe, out=tmp_path / "out", workers=1)
        asked = len(server.completions)
        assert 0 < asked < len(seeds)  # the quota stopped it
        server.clear()
        again = build(recipe, out=tmp_path / "out", workers=1, overwrite=True)
        # The answers in flight when the quota filled are cached; the rebuild admits cached
        # answers before deciding on new requests, so it stops at the same place, asking nothing.
        assert server.completions == []
    assert shard_bytes(again.path) == shard_bytes(first.path)
