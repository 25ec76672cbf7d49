"""Benchmark: LLM generator throughput at concurrency 16 vs serial against a 200 ms server.

Runs the real ``llm`` generator (``process`` over one block, no cache) against the local
OpenAI-compatible test server (in its own process), which answers every request after ``--delay`` seconds. Prints a table
and the serial/concurrent time ratio. Usage:

    python benchmarks/generator_concurrency.py [--requests 200] [--delay 0.2] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection

from corpuskit.document import Document, docs_to_block
from corpuskit.generators import LLMGenerator
from corpuskit.step import RunContext
from corpuskit.testing.openai_server import OpenAITestServer


def timed_run(base_url: str, requests: int, concurrency: int) -> tuple[float, int]:
    gen = LLMGenerator(
        model="bench",
        base_url=base_url,
        api_key_env=None,
        user="Say something about: {{ text }}",
        concurrency=concurrency,
        cache=False,
        drop_copies=False,
        timeout_s=30,
    )
    docs = [
        Document(f"d:{i}", f"benchmark seed sentence number {i}", "bench") for i in range(requests)
    ]
    ctx = RunContext(seed=0)
    start = time.perf_counter()
    out = gen.process(docs_to_block(docs), ctx, "llm")
    elapsed = time.perf_counter() - start
    assert ctx.stats["llm.requests"] == requests, ctx.stats
    return elapsed, out.num_rows - requests


def _serve(delay: float, conn: Connection) -> None:
    with OpenAITestServer(delay_s=delay) as server:
        conn.send(server.base_url)
        conn.recv()  # block until the benchmark is done


@contextmanager
def server_process(delay: float) -> Iterator[str]:
    """The test server in its own process, so its threads do not share the client's GIL."""
    parent, child = mp.get_context("spawn").Pipe()
    proc = mp.get_context("spawn").Process(target=_serve, args=(delay, child), daemon=True)
    proc.start()
    try:
        yield parent.recv()
    finally:
        parent.send("stop")
        proc.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    rows = []
    with server_process(args.delay) as base_url:
        timed_run(base_url, 4, 4)  # warm-up: imports (openai, httpx) are not measured
        for concurrency in (args.concurrency, 1):
            elapsed, made = timed_run(base_url, args.requests, concurrency)
            rows.append((concurrency, elapsed, made))
    print(f"{args.requests} requests, server latency {args.delay * 1000:.0f} ms")
    print(f"{'concurrency':>11} {'seconds':>8} {'req/s':>7} {'docs':>5}")
    for concurrency, elapsed, made in rows:
        print(f"{concurrency:>11} {elapsed:>8.2f} {args.requests / elapsed:>7.1f} {made:>5}")
    serial, concurrent = rows[1][1], rows[0][1]
    ideal = args.requests * args.delay
    print(
        f"serial / concurrency {args.concurrency}: {serial / concurrent:.1f}x faster "
        f"(serial ideal {ideal:.1f} s, concurrent ideal {ideal / args.concurrency:.1f} s)"
    )


if __name__ == "__main__":
    main()
