"""The async request engine: cache first, then bounded concurrency, rate limits, retries and caps.

``run_items`` takes work items in a fixed order and hands their outcomes to ``admit`` in that same
order, whatever order the answers arrive in; when ``admit`` returns False (a word quota is full) no
new request is started. Requests already in flight finish and are cached (their cost is spent
anyway, and a later build with a larger quota reuses them) but are not admitted. A request is
started only once every cached answer before it has been admitted, so a rebuild stops where the
quota filled and asks for nothing, and at most ``LOOKAHEAD`` x ``concurrency`` requests run ahead
of the admitted answers, which bounds what a full quota wastes. The event loop is created inside
``run_items_sync`` so that nothing asyncio-related exists before a worker forks.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from corpuskit.generators.backends import Backend, ChatRequest, RequestError
from corpuskit.generators.cache import Caps, Completion, GenerationCache

LOOKAHEAD = 2  # requests started ahead of the admitted ones, in multiples of the concurrency


@dataclass(frozen=True)
class WorkItem:
    """One request to make (or find in the cache) on behalf of seed ``seed_index``."""

    seed_index: int
    key: str
    request: ChatRequest
    sample: int = 0
    variant: int = 0


@dataclass(frozen=True)
class Outcome:
    """The answer to a work item, or why there is none."""

    item: WorkItem
    completion: Completion | None = None
    failure: str | None = None
    detail: str = ""
    cached: bool = False


@dataclass(frozen=True)
class EngineConfig:
    """Concurrency, rate limits, retry policy, caps and prices for one generator."""

    concurrency: int = 8
    rpm: float | None = None  # this worker's share of the build's limits
    tpm: float | None = None
    max_retries: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    caps: Caps = field(default_factory=Caps)
    prompt_price: float = 0.0  # USD per 1M prompt tokens (= micro-USD per token)
    completion_price: float = 0.0
    run: str = ""
    fingerprint: str = ""


class RateLimiter:
    """Token buckets for requests and tokens per minute, each holding one second's worth."""

    def __init__(self, rpm: float | None, tpm: float | None):
        self.rpm, self.tpm = rpm, tpm
        # One second of burst keeps a fresh limiter from firing a whole minute's quota at once.
        self._req = (rpm or 0) / 60
        self._tok = (tpm or 0) / 60
        self._last = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        elapsed, self._last = now - self._last, now
        if self.rpm:
            self._req = min(max(1.0, self.rpm / 60), self._req + elapsed * self.rpm / 60)
        if self.tpm:
            self._tok = min(max(1.0, self.tpm / 60), self._tok + elapsed * self.tpm / 60)

    async def acquire(self, tokens: int) -> None:
        """Wait until one request of about ``tokens`` tokens fits both limits, then take it."""
        while True:
            self._refill()
            # A request larger than the bucket waits for a full bucket rather than forever.
            want = min(tokens, max(1.0, (self.tpm or 0) / 60))
            req_ok = not self.rpm or self._req >= 1
            tok_ok = not self.tpm or self._tok >= want
            if req_ok and tok_ok:
                if self.rpm:
                    self._req -= 1
                if self.tpm:
                    self._tok -= want
                return
            waits = [0.001]
            if not req_ok and self.rpm:
                waits.append((1 - self._req) / (self.rpm / 60))
            if not tok_ok and self.tpm:
                waits.append((want - self._tok) / (self.tpm / 60))
            await asyncio.sleep(max(waits))


def estimate_prompt_tokens(request: ChatRequest) -> int:
    """A pessimistic token estimate (3 characters per token) for limits and cap reservations."""
    chars = sum(len(m.get("content", "")) for m in request.messages)
    return math.ceil(chars / 3) + 4 * len(request.messages)


def backoff_delay(
    attempt: int, retry_after: float | None, cfg: EngineConfig, rng: random.Random
) -> float:
    """Exponential backoff with jitter (half fixed, half random); never shorter than Retry-After."""
    base = min(cfg.backoff_max_s, cfg.backoff_base_s * (2**attempt))
    delay = base * (0.5 + 0.5 * rng.random())
    return max(delay, retry_after) if retry_after is not None else delay


class _Runner:
    def __init__(
        self, backend: Backend, cache: GenerationCache, cfg: EngineConfig, rng: random.Random
    ):
        self.backend, self.cache, self.cfg, self.rng = backend, cache, cfg, rng
        self.limiter = RateLimiter(cfg.rpm, cfg.tpm)
        self.stats: Counter[str] = Counter()
        self.cost_usd = 0.0
        self.capped: str | None = None

    async def one(self, item: WorkItem) -> Outcome:
        cfg, req = self.cfg, item.request
        max_new = int(req.params.get("max_tokens", 0))
        estimate = estimate_prompt_tokens(req) + max_new
        est_cost = (
            estimate - max_new
        ) * cfg.prompt_price / 1e6 + max_new * cfg.completion_price / 1e6
        last: RequestError | None = None
        for attempt in range(cfg.max_retries + 1):
            if self.capped is None:
                self.capped = self.cache.reserve(
                    cfg.run, cfg.fingerprint, cfg.caps, estimate, est_cost
                )
            if self.capped is not None:
                return Outcome(item, failure="cap_reached", detail=self.capped)
            await self.limiter.acquire(estimate)
            self.stats["requests"] += 1
            try:
                completion = await self.backend.complete(req)
            except RequestError as failure:
                # No usage is reported for a failed request: release the reservation's tokens.
                self.cache.settle(cfg.run, cfg.fingerprint, -estimate, -est_cost)
                last = failure
                if not failure.retryable or attempt == cfg.max_retries:
                    break
                self.stats["retries"] += 1
                await asyncio.sleep(backoff_delay(attempt, failure.retry_after, cfg, self.rng))
                continue
            used = completion.prompt_tokens + completion.completion_tokens
            cost = (
                completion.prompt_tokens * cfg.prompt_price
                + completion.completion_tokens * cfg.completion_price
            ) / 1e6
            self.cache.settle(cfg.run, cfg.fingerprint, used - estimate, cost - est_cost)
            self.cache.put(item.key, req.model, completion)
            self.stats["prompt_tokens"] += completion.prompt_tokens
            self.stats["completion_tokens"] += completion.completion_tokens
            self.cost_usd += cost
            return Outcome(item, completion)
        assert last is not None
        return Outcome(item, failure=last.reason, detail=last.detail)

    async def run(self, items: list[WorkItem], admit: Callable[[Outcome], bool]) -> None:
        cached = self.cache.get_many([i.key for i in items])
        queue: asyncio.Queue[asyncio.Future[Outcome] | None] = asyncio.Queue()
        stop = asyncio.Event()
        slots = asyncio.Semaphore(self.cfg.concurrency)
        in_flight: set[asyncio.Task[Outcome]] = set()
        cached_ahead = 0  # cached outcomes queued but not admitted yet
        # Requests started but not admitted yet: at most LOOKAHEAD x concurrency. A finished
        # answer frees its slot before the answers ahead of it arrive; without this bound a slow
        # answer let the launcher run arbitrarily far ahead, and every request past the point
        # where the quota fills is paid for and not admitted.
        window = asyncio.Semaphore(LOOKAHEAD * self.cfg.concurrency)
        caught_up = asyncio.Event()
        caught_up.set()

        async def guarded(item: WorkItem) -> Outcome:
            try:
                return await self.one(item)
            finally:
                slots.release()

        async def launch() -> None:
            nonlocal cached_ahead
            loop = asyncio.get_running_loop()
            for item in items:
                if stop.is_set():
                    break
                hit = cached.get(item.key)
                if hit is not None:
                    done: asyncio.Future[Outcome] = loop.create_future()
                    done.set_result(Outcome(item, hit, cached=True))
                    cached_ahead += 1
                    caught_up.clear()
                    await queue.put(done)
                    continue
                # Ask for an answer only once every cached one before it is admitted: a rebuild
                # then stops where its quota filled, instead of racing through the cache and
                # spending requests past it that it will not admit.
                await caught_up.wait()
                await window.acquire()
                if stop.is_set():
                    break
                await slots.acquire()
                if stop.is_set():
                    slots.release()
                    break
                task = asyncio.create_task(guarded(item))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
                await queue.put(task)
            await queue.put(None)

        launcher = asyncio.create_task(launch())
        while (future := await queue.get()) is not None:
            outcome = await future
            if outcome.cached:
                self.stats["cache_hits"] += 1
                cached_ahead -= 1
                if cached_ahead == 0:
                    caught_up.set()
            else:
                window.release()
            if not admit(outcome):
                stop.set()
                caught_up.set()
                # Unblock a launcher waiting for a slot; it sees ``stop`` and ends.
                window.release()
                slots.release()
                break
        await launcher
        if in_flight:
            await asyncio.gather(*in_flight)


def run_items_sync(
    items: list[WorkItem],
    backend_factory: Callable[[], Backend],
    cache: GenerationCache,
    cfg: EngineConfig,
    admit: Callable[[Outcome], bool],
    rng: random.Random,
) -> tuple[Counter[str], float]:
    """Run ``items`` on a fresh event loop; returns (counters, cost in USD)."""

    async def main() -> tuple[Counter[str], float]:
        backend = backend_factory()
        runner = _Runner(backend, cache, cfg, rng)
        try:
            await runner.run(items, admit)
        finally:
            await backend.aclose()
        return runner.stats, runner.cost_usd

    return asyncio.run(main())
