"""Persistent generation cache, failure log and spend ledger in one SQLite file (WAL mode).

Why SQLite: every completion is committed (and fsynced, ``synchronous=FULL``) the moment it
arrives, so a killed build loses nothing it was answered; WAL lets the forked build workers and
other builds sharing the file read and write concurrently. Rows are only ever inserted, never
rewritten, so the file can be copied or shared between machines as a plain artefact.

Keys are sha256 over (backend, model, rendered messages, sampling params, seed, sample index); the
endpoint URL and the API key are deliberately not part of the key (and never stored).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    finish_reason TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
    key TEXT NOT NULL,
    generator TEXT NOT NULL,
    seed_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS spend (
    run TEXT NOT NULL,
    generator TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (run, generator)
);
"""


@dataclass(frozen=True)
class Completion:
    """One model answer as cached: text, why it stopped, and token usage."""

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Caps:
    """Hard caps on what one generator may spend in one build run (None: unlimited)."""

    max_requests: int | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None


def cache_key(
    backend: str,
    model: str,
    messages: list[dict[str, str]],
    params: dict[str, Any],
    seed: int | None,
    sample: int,
) -> str:
    """The cache key of one request: identical inputs give identical keys everywhere."""
    payload = json.dumps(
        [backend, model, messages, params, seed, sample],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class GenerationCache:
    """Completions, failures and spend in ``path`` (created on first use).

    Open one instance per process (never share a connection across fork).
    """

    def __init__(self, path: Path | str | None):
        self.path = Path(path) if path is not None else None
        import sqlite3  # here: a build without generators need not load SQLite (~1 MiB)

        target = ":memory:"
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            target = str(self.path)
        self._db = sqlite3.connect(target, timeout=60.0, isolation_level=None)
        self._enable_wal()
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def _enable_wal(self) -> None:
        import sqlite3

        # Switching to WAL needs an exclusive lock and SQLite does not call the busy handler for
        # it, so forked workers opening the same new file at once would fail with "database is
        # locked". WAL is persistent: check first, and retry the switch with a short backoff.
        for attempt in range(200):
            try:
                if self._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                    return
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError:
                if attempt == 199:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> GenerationCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- completions --------------------------------------------------------------------
    def get(self, key: str) -> Completion | None:
        row = self._db.execute(
            "SELECT text, finish_reason, prompt_tokens, completion_tokens FROM completions "
            "WHERE key = ?",
            (key,),
        ).fetchone()
        return Completion(*row) if row else None

    def get_many(self, keys: list[str]) -> dict[str, Completion]:
        out: dict[str, Completion] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, *rest in self._db.execute(
                "SELECT key, text, finish_reason, prompt_tokens, completion_tokens "
                f"FROM completions WHERE key IN ({marks})",
                chunk,
            ):
                out[key] = Completion(*rest)
        return out

    def put(self, key: str, model: str, completion: Completion) -> None:
        """Insert once (a concurrent writer of the same key wins; answers are interchangeable)."""
        self._db.execute(
            "INSERT OR IGNORE INTO completions VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                model,
                completion.text,
                completion.finish_reason,
                completion.prompt_tokens,
                completion.completion_tokens,
                time.time(),
            ),
        )

    def keys(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT key FROM completions")}

    # ----- failures -----------------------------------------------------------------------
    def log_failure(self, key: str, generator: str, seed_id: str, reason: str, detail: str) -> None:
        self._db.execute(
            "INSERT INTO failures VALUES (?, ?, ?, ?, ?, ?)",
            (key, generator, seed_id, reason, detail[:500], time.time()),
        )

    def failures(self, generator: str | None = None) -> list[dict[str, Any]]:
        """Logged failures (oldest first), optionally of one generator fingerprint."""
        sql = "SELECT key, generator, seed_id, reason, detail FROM failures"
        args: tuple[str, ...] = ()
        if generator is not None:
            sql, args = sql + " WHERE generator = ?", (generator,)
        cols = ("key", "generator", "seed_id", "reason", "detail")
        return [
            dict(zip(cols, row, strict=True))
            for row in self._db.execute(sql + " ORDER BY rowid", args)
        ]

    # ----- spend ledger -------------------------------------------------------------------
    def reserve(
        self, run: str, generator: str, caps: Caps, tokens: int, cost_usd: float
    ) -> str | None:
        """Reserve one request (and an estimate of its tokens and cost) under ``caps``.

        Returns None when reserved, else the cap that refused it (``max_requests`` ...). The check
        and the update happen in one IMMEDIATE transaction, so concurrent workers of one build
        cannot overshoot a cap together.
        """
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "INSERT OR IGNORE INTO spend (run, generator) VALUES (?, ?)", (run, generator)
            )
            used_requests, used_tokens, used_cost = db.execute(
                "SELECT requests, tokens, cost_usd FROM spend WHERE run = ? AND generator = ?",
                (run, generator),
            ).fetchone()
            refused = None
            if caps.max_requests is not None and used_requests + 1 > caps.max_requests:
                refused = "max_requests"
            elif caps.max_tokens is not None and used_tokens + tokens > caps.max_tokens:
                refused = "max_tokens_total"
            elif caps.max_cost_usd is not None and used_cost + cost_usd > caps.max_cost_usd:
                refused = "max_cost_usd"
            if refused is None:
                db.execute(
                    "UPDATE spend SET requests = requests + 1, tokens = tokens + ?, "
                    "cost_usd = cost_usd + ? WHERE run = ? AND generator = ?",
                    (tokens, cost_usd, run, generator),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return refused

    def settle(self, run: str, generator: str, tokens_delta: int, cost_delta: float) -> None:
        """Replace a reservation's estimate by the actual usage (deltas may be negative)."""
        self._db.execute(
            "UPDATE spend SET tokens = tokens + ?, cost_usd = cost_usd + ? "
            "WHERE run = ? AND generator = ?",
            (tokens_delta, cost_delta, run, generator),
        )

    def spent(self, run: str, generator: str) -> tuple[int, int, float]:
        row = self._db.execute(
            "SELECT requests, tokens, cost_usd FROM spend WHERE run = ? AND generator = ?",
            (run, generator),
        ).fetchone()
        return (int(row[0]), int(row[1]), float(row[2])) if row else (0, 0, 0.0)
