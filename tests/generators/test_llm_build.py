"""End-to-end builds with LLM generators against the real local server: MRPC paraphrases,
grammar examples, rebuild and kill/resume with zero repeated requests, validation errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpuskit import Recipe, build, count_words
from corpuskit.cli import app
from corpuskit.generators.cache import GenerationCache
from corpuskit.generators.prompts import phenomena
from corpuskit.testing.openai_server import OpenAITestServer, prompt_set_responder
from tests.generators.conftest import llm_recipe, mrpc_sentences

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def shard_bytes(path: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(path.glob("data-*.arrow"))]


def test_paraphrase_recipe_over_mrpc(
    server: OpenAITestServer, tmp_path: Path, data_root: Path
) -> None:
    sentences = mrpc_sentences(data_root, 12)
    recipe = Recipe.from_dict(
        llm_recipe(server.base_url, sentences, {"kind": "paraphrase", "k": 3, "n": 2})
    )
    result = build(recipe, out=tmp_path / "out", workers=1)
    docs = list(result.open().documents())
    made = [d for d in docs if d.meta.get("synthetic")]
    assert len(docs) == 12 + 12 * 2 * 3 and len(made) == 72
    assert len(server.completions) == 24
    ledger = {row["step"]: row for row in result.manifest["ledger"]}
    counters = ledger["paraphrase"]["counters"]
    assert counters["requests"] == 24 and counters["cache_hits"] == 0
    assert counters["generated_docs"] == 72
    assert counters["prompt_tokens"] == sum(
        count_words(m["content"]) for r in server.completions for m in r.body["messages"]
    )
    gen_words = sum(d.words for d in made)
    assert result.manifest["synthetic"]["words"] == gen_words
    total = result.manifest["totals"]["words"]
    assert result.manifest["synthetic"]["share"] == round(gen_words / total, 6)
    by_id = {d.id: d for d in docs}
    example = by_id["seeds:3~paraphrase:0:1:2"]
    assert example.text == f"Put another way (8.2), {sentences[3]}"
    assert example.meta["seed_id"] == "seeds:3" and example.source == "seeds"
    # A rebuild from scratch into a new output dir sharing the cache makes no request at all.
    server.clear()
    again = build(recipe, out=tmp_path / "out", workers=1, overwrite=True)
    assert server.completions == []
    again_counters = {r["step"]: r for r in again.manifest["ledger"]}["paraphrase"]["counters"]
    assert again_counters["cache_hits"] == 24 and again_counters.get("requests", 0) == 0
    assert shard_bytes(again.path) == shard_bytes(result.path)


def test_grammar_examples_recipe(server: OpenAITestServer, tmp_path: Path) -> None:
    seeds = [f"The little dog number {i} runs to the park." for i in range(24)]
    step = {
        "kind": "grammar_examples",
        "k": 2,
        "phenomena_per_seed": 1,
        "phenomena": ["subject_verb_agreement", "npi_licensing", "island_effects"],
    }
    result = build(
        Recipe.from_dict(llm_recipe(server.base_url, seeds, step)), out=tmp_path / "out", workers=2
    )
    made = [d for d in result.open().documents() if d.meta.get("synthetic")]
    assert len(made) == 24 * 2
    tags = {d.meta["seed_id"]: d.meta["generator"]["variant"] for d in made}
    assert set(tags.values()) == {"subject_verb_agreement", "npi_licensing", "island_effects"}
    titles = {p.name: p.title for p in phenomena().values()}
    for doc in made:
        assert titles[doc.meta["generator"]["variant"]] in doc.text
    prompts = [r.prompt for r in server.completions]
    assert all(p.startswith("Grammar point: ") and "little dog" in p for p in prompts)
    # the phenomenon of a seed depends on the seed's id only: same choice in a second build
    server.clear()
    other = build(
        Recipe.from_dict(llm_recipe(server.base_url, seeds, step, name="g2")),
        out=tmp_path / "out2",
        workers=1,
    )
    tags2 = {
        d.meta["seed_id"]: d.meta["generator"]["variant"]
        for d in other.open().documents()
        if d.meta.get("synthetic")
    }
    assert tags2 == tags


def test_qa_recipe_renders_json_pairs(server: OpenAITestServer, tmp_path: Path) -> None:
    recipe = llm_recipe(server.base_url, ["Bees make honey in summer."], {"kind": "qa", "k": 2})
    result = build(Recipe.from_dict(recipe), out=tmp_path / "out", workers=1)
    made = sorted(d.text for d in result.open().documents() if d.meta.get("synthetic"))
    assert made == [
        "Question: What is word 1?\nAnswer: Bees",
        "Question: What is word 2?\nAnswer: make",
    ]


KILL_SCRIPT = """
import json, sys
from corpuskit import Recipe, build
recipe = Recipe.from_dict(json.loads(open(sys.argv[1]).read()))
build(recipe, out=sys.argv[2], workers=1)
"""


def test_killed_build_resumes_with_requests_only_for_missing_items(tmp_path: Path) -> None:
    seeds = [f"Resume test sentence {i} is short." for i in range(12)]
    with OpenAITestServer(prompt_set_responder, delay_s=0.15) as server:
        data = llm_recipe(server.base_url, seeds, {"kind": "paraphrase", "concurrency": 1})
        (tmp_path / "recipe.json").write_text(json.dumps(data))
        (tmp_path / "build.py").write_text(KILL_SCRIPT)
        proc = subprocess.Popen(
            [
                sys.executable,
                str(tmp_path / "build.py"),
                str(tmp_path / "recipe.json"),
                str(tmp_path / "out"),
            ],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while len(server.completions) < 5 and time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"build exited early: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        first = [r.prompt for r in server.completions]
        assert 5 <= len(first) < 12  # killed midway
        with GenerationCache(tmp_path / "out" / ".cache" / "generators.sqlite") as cache:
            cached = len(cache.keys())
        assert len(first) - 1 <= cached <= len(first)  # at most the answer in flight is lost
        server.clear()
        result = build(Recipe.from_dict(data), out=tmp_path / "out", workers=1)
        second = [r.prompt for r in server.completions]
    assert len(second) == 12 - cached
    assert not set(second) & set(first[:cached])  # nothing already cached is asked again
    assert sorted({*first, *second}) == sorted(set(first) | set(second))
    assert len({*first, *second}) == 12
    made = [d for d in result.open().documents() if d.meta.get("synthetic")]
    assert len(made) == 12 * 3
    counters = {r["step"]: r for r in result.manifest["ledger"]}["paraphrase"]["counters"]
    assert counters["cache_hits"] == cached and counters["requests"] == 12 - cached


BAD_TEMPLATE = """\
name: bad-template
sources:
  - kind: documents
    documents: ["One sentence."]
generators:
  - kind: llm
    model: test-model
    api_key_env: null
    user: "Rewrite this: {{ txt }}"
"""


def test_validate_reports_a_missing_template_field_with_its_location(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_TEMPLATE)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"{path}:6 generators[0]: user template references unknown field 'txt' "
        "(hint: did you mean text?)"
    )


def test_missing_api_key_is_one_line_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CORPUSKIT_TEST_MISSING_KEY", raising=False)
    path = tmp_path / "nokey.yaml"
    path.write_text(
        BAD_TEMPLATE.replace("{{ txt }}", "{{ text }}").replace(
            "api_key_env: null", "api_key_env: CORPUSKIT_TEST_MISSING_KEY"
        )
    )
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"{path}:6 generators[0]: environment variable CORPUSKIT_TEST_MISSING_KEY is not set "
        "(the llm generator reads its API key from it) (hint: export "
        "CORPUSKIT_TEST_MISSING_KEY=..., or set api_key_env: null for a server without "
        "authentication)"
    )


def test_api_key_never_reaches_manifest_or_cache(tmp_path: Path) -> None:
    secret = "sk-test-0123456789abcdef"
    os.environ["CORPUSKIT_TEST_KEY"] = secret
    try:
        with OpenAITestServer(prompt_set_responder, api_key=secret) as server:
            data = llm_recipe(server.base_url, ["A cat naps."], {"kind": "paraphrase"})
            data["generators"][0]["api_key_env"] = "CORPUSKIT_TEST_KEY"
            result = build(Recipe.from_dict(data), out=tmp_path / "out", workers=1)
            assert [r.status for r in server.completions] == [200]
    finally:
        del os.environ["CORPUSKIT_TEST_KEY"]
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    assert result.manifest["recipe"]["generators"][0]["api_key_env"] == "CORPUSKIT_TEST_KEY"


def two_source_recipe(base_url: str, generator: dict) -> Recipe:
    step = {"model": "test-model", "base_url": base_url, "api_key_env": None, **generator}
    sources = [
        {
            "kind": "documents",
            "name": name,
            "documents": [f"{name} text {i} here." for i in range(6)],
        }
        for name in ("left", "right")
    ]
    return Recipe.from_dict({"name": "two", "seed": 1, "sources": sources, "generators": [step]})


def test_forked_workers_give_the_same_bytes_and_share_caps(
    server: OpenAITestServer, tmp_path: Path
) -> None:
    recipe = two_source_recipe(server.base_url, {"kind": "paraphrase", "k": 2})
    forked = build(recipe, out=tmp_path / "w2", workers=2)
    assert len(server.completions) == 12
    server.clear()
    single = build(recipe, out=tmp_path / "w1", workers=1)
    assert len(server.completions) == 12  # separate output roots: separate caches
    assert shard_bytes(forked.path) == shard_bytes(single.path)
    server.clear()
    capped = two_source_recipe(server.base_url, {"kind": "paraphrase", "max_requests": 5})
    result = build(capped, out=tmp_path / "cap", workers=2)
    assert len(server.completions) == 5  # one cap for the build, across both worker processes
    counters = {r["step"]: r for r in result.manifest["ledger"]}["paraphrase"]["counters"]
    assert counters["requests"] == 5 and counters["failures.cap_reached"] == 7
