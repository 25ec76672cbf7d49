"""The llm generator against the real local server: retries, faults, caps, quota, cache, cost."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from corpuskit.document import Document, block_to_docs, docs_to_block
from corpuskit.generators import ParaphraseGenerator
from corpuskit.generators.backends import ChatRequest
from corpuskit.generators.cache import Completion, GenerationCache
from corpuskit.generators.engine import (
    LOOKAHEAD,
    EngineConfig,
    Outcome,
    RateLimiter,
    WorkItem,
    run_items_sync,
)
from corpuskit.step import RunContext
from corpuskit.testing.openai_server import OpenAITestServer
from corpuskit.words import count_words

SEEDS = [f"Seed sentence number {i} is here." for i in range(6)]


def run(
    server: OpenAITestServer, tmp_path: Path, texts: list[str] = SEEDS, **params: Any
) -> tuple[pa.Table, RunContext]:
    options: dict[str, Any] = {
        "model": "m",
        "base_url": server.base_url,
        "api_key_env": None,
        "k": 2,
        "backoff_base_s": 0.01,
        "timeout_s": 5.0,
        **params,
    }
    gen = ParaphraseGenerator(**options)
    ctx = RunContext(seed=1, cache_dir=tmp_path / "cache")
    block = docs_to_block(
        Document(f"s:{i}", t, "seeds", {"license": "cc"}) for i, t in enumerate(texts)
    )
    return gen.process(block, ctx, "paraphrase"), ctx


def counters(ctx: RunContext) -> dict[str, int]:
    prefix = "paraphrase."
    return {k[len(prefix) :]: v for k, v in ctx.stats.items() if k.startswith(prefix) and v}


def synthetic(out: pa.Table) -> list[Document]:
    return [d for d in block_to_docs(out) if d.meta.get("synthetic")]


def test_all_seeds_generate_with_provenance(server: OpenAITestServer, tmp_path: Path) -> None:
    out, ctx = run(server, tmp_path, n=2)
    made = synthetic(out)
    assert len(made) == 6 * 2 * 2  # seeds × samples × k lines
    assert counters(ctx) == {
        "requests": 12,
        "generated_docs": 24,
        "generated_words": sum(count_words(d.text) for d in made),
        "prompt_tokens": sum(_words(r.body) for r in server.completions),
        "completion_tokens": sum(count_words(d.text) + 1 for d in made),  # "1." markers
    }
    first = made[0]
    assert first.source == "seeds" and first.meta["license"] == "cc"
    assert first.meta["seed_id"] == "s:0"
    gen_meta = first.meta["generator"]
    assert gen_meta["model"] == "m" and gen_meta["prompt_id"] == "paraphrase"
    assert gen_meta["prompt_version"] == 1 and len(gen_meta["prompt_hash"]) == 12
    assert gen_meta["params"] == {"temperature": 0.7, "top_p": 1.0, "max_tokens": 256}
    assert {d.meta["generator"]["seed"] for d in made} == {1, 2}  # recipe seed + sample


def test_api_key_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from corpuskit.testing.openai_server import prompt_set_responder

    monkeypatch.setenv("TEST_LLM_KEY", "sekrit-value")
    with OpenAITestServer(prompt_set_responder, api_key="sekrit-value") as server:
        out, ctx = run(server, tmp_path, texts=SEEDS[:1], api_key_env="TEST_LLM_KEY")
        assert [r.status for r in server.completions] == [200]
        assert "sekrit-value" not in repr(pa.concat_tables([out]).to_pydict())
        monkeypatch.setenv("TEST_LLM_KEY", "wrong")
        _, ctx = run(server, tmp_path / "b", texts=SEEDS[:1], api_key_env="TEST_LLM_KEY")
        assert counters(ctx)["failures.auth_error"] == 1


def _words(body: dict[str, Any]) -> int:
    return sum(count_words(m["content"]) for m in body["messages"])


def test_rate_limits_are_retried_after_retry_after(
    server: OpenAITestServer, tmp_path: Path
) -> None:
    server.inject("rate_limit", times=2, match="number 3", retry_after=0.3)
    start = time.monotonic()
    out, ctx = run(server, tmp_path)
    assert time.monotonic() - start >= 0.6  # two waits of at least Retry-After
    assert len(synthetic(out)) == 12
    assert counters(ctx)["requests"] == 8 and counters(ctx)["retries"] == 2
    tries = [r.status for r in server.completions if "number 3" in r.prompt]
    assert tries == [429, 429, 200]


@pytest.mark.parametrize(
    ("fault", "reason", "attempts"),
    [
        ("server_error", "server_error", 3),
        ("malformed_json", "malformed_response", 3),
        ("empty_choices", "empty_choices", 3),
        ("truncated", "truncated", 1),  # a real (cut-off) answer: cached, not retried
    ],
)
def test_persistent_faults_fail_one_seed_with_a_reason(
    server: OpenAITestServer, tmp_path: Path, fault: str, reason: str, attempts: int
) -> None:
    server.inject(fault, times=None, match="number 2")
    out, ctx = run(server, tmp_path, max_retries=2)
    made = synthetic(out)
    assert {d.meta["seed_id"] for d in made} == {f"s:{i}" for i in range(6)} - {"s:2"}
    c = counters(ctx)
    assert c[f"failures.{reason}"] == 1 and c["seeds_failed"] == 1
    assert sum("number 2" in r.prompt for r in server.completions) == attempts
    assert out.num_rows == 6 + 10  # seeds kept, failed seed recorded, never silently lost
    with GenerationCache(tmp_path / "cache" / "generators.sqlite") as cache:
        assert [f["reason"] for f in cache.failures()] == [reason]
        assert cache.failures()[0]["seed_id"] == "s:2"


def test_transient_faults_recover(server: OpenAITestServer, tmp_path: Path) -> None:
    server.inject("server_error", times=1, match="number 0")
    server.inject("malformed_json", times=1, match="number 1")
    server.inject("empty_choices", times=1, match="number 4")
    server.inject("slow", times=1, match="number 5", delay_s=1.5)
    out, ctx = run(server, tmp_path, timeout_s=0.5)
    assert len(synthetic(out)) == 12
    assert counters(ctx)["retries"] == 4 and "seeds_failed" not in counters(ctx)


def test_timeouts_fail_after_retries(server: OpenAITestServer, tmp_path: Path) -> None:
    server.inject("slow", times=None, match="number 1", delay_s=1.0)
    out, ctx = run(server, tmp_path, texts=SEEDS[:2], timeout_s=0.3, max_retries=1)
    assert counters(ctx)["failures.timeout"] == 1
    assert [d.meta["seed_id"] for d in synthetic(out)] == ["s:0", "s:0"]


def test_failed_seeds_are_rejected_when_not_kept(server: OpenAITestServer, tmp_path: Path) -> None:
    server.inject("server_error", times=None, match="number 2")
    out, ctx = run(server, tmp_path, keep_seeds=False, max_retries=0)
    assert out.num_rows == 10 and len(synthetic(out)) == 10
    rejects = pa.concat_tables(ctx.rejects).to_pydict()
    assert (rejects["id"], rejects["reason"]) == (["s:2"], ["generation_failed"])


def test_rerun_requests_only_what_failed(server: OpenAITestServer, tmp_path: Path) -> None:
    server.inject("server_error", times=None, match="number 4")
    run(server, tmp_path, max_retries=0)
    server.clear()
    out, ctx = run(server, tmp_path)
    assert [r.prompt.endswith("number 4 is here.") for r in server.completions] == [True]
    assert counters(ctx)["cache_hits"] == 5 and counters(ctx)["requests"] == 1
    assert len(synthetic(out)) == 12


def test_accept_truncated_keeps_cut_off_replies(server: OpenAITestServer, tmp_path: Path) -> None:
    server.inject("truncated", times=None)
    out, _ctx = run(server, tmp_path, texts=SEEDS[:1], accept_truncated=True)
    # "1. Put another way (1.0), Seed sentence number 0 is here.\n2. ..." cut at 40%
    assert [d.text for d in synthetic(out)] == ["Put another way (1.0), Seed sentence number"]


def test_request_cap_is_hard(server: OpenAITestServer, tmp_path: Path) -> None:
    _out, ctx = run(server, tmp_path, max_requests=4, concurrency=3)
    assert len(server.completions) == 4
    c = counters(ctx)
    assert c["requests"] == 4 and c["failures.cap_reached"] == 2 and c["seeds_failed"] == 2


def test_cost_is_counted_in_micro_dollars(server: OpenAITestServer, tmp_path: Path) -> None:
    _out, ctx = run(server, tmp_path, prompt_price_per_1m=0.15, completion_price_per_1m=0.6)
    c = counters(ctx)
    assert c["cost_usd_micro"] == round(c["prompt_tokens"] * 0.15 + c["completion_tokens"] * 0.6)
    with pytest.raises(KeyError):
        _ = c["failures.cap_reached"]
    # A request is reserved at its worst case (prompt estimate + max_tokens completion, about
    # 170 micro-USD here) and settled to its actual cost (about 15) when it returns.
    _, ctx2 = run(
        server,
        tmp_path / "b",
        prompt_price_per_1m=0.15,
        completion_price_per_1m=0.6,
        max_cost_usd=0.0004,
        concurrency=1,
    )
    assert counters(ctx2)["requests"] == 6 and counters(ctx2)["cost_usd_micro"] <= 400
    server.clear()
    _, ctx3 = run(
        server,
        tmp_path / "c",
        prompt_price_per_1m=0.15,
        completion_price_per_1m=0.6,
        max_cost_usd=0.0001,
    )
    assert counters(ctx3) == {"failures.cap_reached": 6, "seeds_failed": 6}
    assert server.completions == []


def test_quota_never_overshoots_and_stops_requests(
    server: OpenAITestServer, tmp_path: Path
) -> None:
    out, ctx = run(server, tmp_path, max_words=40, concurrency=1)
    words = sum(count_words(d.text) for d in synthetic(out))
    per_line = count_words("Put another way (0.0), Seed sentence number 0 is here.")
    assert words == (40 // per_line) * per_line <= 40
    c = counters(ctx)
    assert c["quota_reached"] == 1 and c["generated_words"] == words
    assert len(server.completions) < len(SEEDS)  # stopped asking once full


def test_concurrency_is_bounded(tmp_path: Path) -> None:
    from corpuskit.testing.openai_server import prompt_set_responder

    with OpenAITestServer(prompt_set_responder, delay_s=0.15) as server:
        run(server, tmp_path, texts=SEEDS * 2, concurrency=4, drop_copies=False)
        assert 2 <= server.max_in_flight <= 4


def test_rate_limiter_spaces_requests() -> None:
    async def go() -> float:
        limiter = RateLimiter(rpm=1200, tpm=None)  # 20 per second, 20 burst
        start = time.monotonic()
        for _ in range(40):
            await limiter.acquire(10)
        return time.monotonic() - start

    assert asyncio.run(go()) >= 0.9


def test_counters_are_ints(server: OpenAITestServer, tmp_path: Path) -> None:
    _, ctx = run(server, tmp_path)
    assert all(isinstance(v, int) for v in Counter(ctx.stats).values())


def test_custom_format_template_and_missing_meta_field(
    server: OpenAITestServer, tmp_path: Path
) -> None:
    from corpuskit.generators import LLMGenerator

    gen = LLMGenerator(
        model="m",
        base_url=server.base_url,
        api_key_env=None,
        template_format="format",
        system="You answer briefly.",
        user="Topic {meta[topic]}: {text}",
        drop_copies=False,
    )
    docs = [Document("a", "first text", "s", {"topic": "cats"}), Document("b", "second", "s", {})]
    ctx = RunContext(seed=0, cache_dir=tmp_path)
    out = gen.process(docs_to_block(docs), ctx, "llm")
    made = synthetic(out)
    assert [r.body["messages"] for r in server.completions] == [
        [
            {"role": "system", "content": "You answer briefly."},
            {"role": "user", "content": "Topic cats: first text"},
        ]
    ]
    assert [d.meta["seed_id"] for d in made] == ["a"]
    assert made[0].meta["generator"]["prompt_id"] == "custom"
    assert ctx.stats["llm.failures.template_error"] == 1 and ctx.stats["llm.seeds_failed"] == 1


class SlowFirstBackend:
    """A backend whose first request answers after 0.3 s and every other one at once."""

    name = "slow-first"

    def __init__(self) -> None:
        self.started: list[int] = []

    async def complete(self, request: ChatRequest) -> Completion:
        self.started.append(int(request.messages[0]["content"]))
        if request.messages[0]["content"] == "0":
            await asyncio.sleep(0.3)
        return Completion(request.messages[0]["content"], "stop", 1, 1)

    async def aclose(self) -> None:
        return None


def test_requests_run_at_most_lookahead_times_concurrency_ahead_of_admission() -> None:
    items = [
        WorkItem(i, f"k{i}", ChatRequest("m", [{"role": "user", "content": str(i)}]))
        for i in range(50)
    ]
    backend = SlowFirstBackend()
    admitted: list[int] = []

    def admit(outcome: Outcome) -> bool:
        admitted.append(outcome.item.seed_index)
        return False  # the quota fills with the first answer

    cfg = EngineConfig(concurrency=3)
    run_items_sync(items, lambda: backend, GenerationCache(None), cfg, admit, random.Random(0))
    assert admitted == [0]
    # While the first answer is slow, the others finish and free their slots, but no more than
    # LOOKAHEAD x concurrency requests are ever started ahead of the admitted ones.
    assert backend.started == list(range(LOOKAHEAD * 3))
