"""The SQLite generation cache: keys, persistence, concurrent writers, failure log, spend caps."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from corpuskit.generators.cache import Caps, Completion, GenerationCache, cache_key


def _completion(i: int) -> Completion:
    return Completion(f"answer {i}", "stop", 10 + i, 5)


def test_key_depends_on_every_part() -> None:
    base = ("openai", "m", [{"role": "user", "content": "x"}], {"temperature": 0.7}, 1, 0)
    keys = {
        cache_key(*base),
        cache_key("transformers", *base[1:]),
        cache_key(base[0], "m2", *base[2:]),
        cache_key(*base[:2], [{"role": "user", "content": "y"}], *base[3:]),
        cache_key(*base[:3], {"temperature": 0.8}, *base[4:]),
        cache_key(*base[:4], 2, 0),
        cache_key(*base[:5], 1),
    }
    assert len(keys) == 7
    assert cache_key(*base) == cache_key(*base)


def test_entries_persist_and_first_writer_wins(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with GenerationCache(path) as cache:
        cache.put("k1", "m", _completion(1))
        cache.put("k1", "m", _completion(2))
    with GenerationCache(path) as cache:
        assert cache.get("k1") == _completion(1)
        assert cache.get("missing") is None
        assert cache.get_many(["k1", "missing"]) == {"k1": _completion(1)}


def _writer(path: str, start: int) -> None:
    with GenerationCache(path) as cache:
        for i in range(start, start + 100):
            cache.put(f"k{i}", "m", _completion(i))


def test_concurrent_processes_share_one_cache(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(path, s)) for s in (0, 50, 100)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    with GenerationCache(path) as cache:
        assert cache.keys() == {f"k{i}" for i in range(200)}
        assert cache.get("k199") == _completion(199)


def _write_then_die(path: str) -> None:
    cache = GenerationCache(path)
    for i in range(20):
        cache.put(f"k{i}", "m", _completion(i))
    import os

    os._exit(9)  # no close, no cleanup: what a SIGKILL leaves behind


def test_committed_entries_survive_a_killed_writer(tmp_path: Path) -> None:
    path = str(tmp_path / "crash.sqlite")
    proc = mp.get_context("fork").Process(target=_write_then_die, args=(path,))
    proc.start()
    proc.join(30)
    assert proc.exitcode == 9
    with GenerationCache(path) as cache:
        assert len(cache.keys()) == 20


def test_failures_are_logged(tmp_path: Path) -> None:
    with GenerationCache(tmp_path / "f.sqlite") as cache:
        cache.log_failure("k", "gen", "doc:1", "timeout", "x" * 900)
        cache.log_failure("k2", "other", "doc:2", "rate_limited", "")
        rows = cache.failures("gen")
    assert rows == [
        {
            "key": "k",
            "generator": "gen",
            "seed_id": "doc:1",
            "reason": "timeout",
            "detail": "x" * 500,
        }
    ]


def test_reservations_enforce_caps_per_run_and_generator(tmp_path: Path) -> None:
    with GenerationCache(tmp_path / "s.sqlite") as cache:
        caps = Caps(max_requests=3, max_tokens=250)
        assert [cache.reserve("run", "g", caps, 100, 0.0) for _ in range(3)] == [
            None,
            None,
            "max_tokens_total",
        ]
        cache.settle("run", "g", -120, 0.0)  # actual usage was lower than the estimate
        assert cache.spent("run", "g") == (2, 80, 0.0)
        assert cache.reserve("run", "g", caps, 100, 0.0) is None
        assert cache.reserve("run", "g", caps, 1, 0.0) == "max_requests"
        assert cache.reserve("other-run", "g", caps, 100, 0.0) is None
        money = Caps(max_cost_usd=0.01)
        assert cache.reserve("run", "h", money, 0, 0.006) is None
        assert cache.reserve("run", "h", money, 0, 0.006) == "max_cost_usd"
