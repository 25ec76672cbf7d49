"""The leaderboard: one SQLite file, rows keyed by (recipe hash, train hash, EVAL_VERSION, seed).

``runs`` holds one row per key (names and paths for display); ``scores`` holds every task score
of that row, plus the per-group breakdowns (BLiMP paradigms, fields, phenomena) used by the
report. Recording the same key again replaces the scores of the tasks it carries and keeps the
others, so a row collects all its task scores over several ``corpuskit score`` calls.

The train hash is the trainer-config hash *without the seed*: seeds of one config are rows of
one leaderboard entry, summarised as mean ± std (sample std, n-1) over seeds.
"""

from __future__ import annotations

import sqlite3
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from trainers.evaluate.runner import TaskResult

SCHEMA_VERSION = 1
DEFAULT_DB = Path("leaderboard.sqlite")
# Fine-tuning tasks are averaged into one "glue" entry before the macro average (BabyLM 2024:
# macro = mean of BLiMP, supplement, EWoK and GLUE), so eight GLUE tasks do not outweigh BLiMP.
GLUE_TASKS = frozenset({"mnli", "rte", "wnli", "mrpc", "qqp", "boolq", "multirc", "wsc"})

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    recipe_hash TEXT NOT NULL, train_hash TEXT NOT NULL, eval_version TEXT NOT NULL,
    seed INTEGER NOT NULL, recipe_name TEXT NOT NULL, config_name TEXT NOT NULL,
    run_dir TEXT NOT NULL, objective TEXT NOT NULL, updated TEXT NOT NULL,
    PRIMARY KEY (recipe_hash, train_hash, eval_version, seed)
);
CREATE TABLE IF NOT EXISTS scores (
    recipe_hash TEXT NOT NULL, train_hash TEXT NOT NULL, eval_version TEXT NOT NULL,
    seed INTEGER NOT NULL, task TEXT NOT NULL, task_version INTEGER NOT NULL,
    metric TEXT NOT NULL, grp TEXT NOT NULL, label TEXT NOT NULL,
    value REAL NOT NULL, n INTEGER NOT NULL, ties INTEGER NOT NULL,
    PRIMARY KEY (recipe_hash, train_hash, eval_version, seed, task, grp, label)
);
"""


@dataclass(frozen=True)
class RowKey:
    recipe_hash: str
    train_hash: str
    eval_version: str
    seed: int


@dataclass
class Row:
    """One (recipe, config, protocol, seed) row with its top-level task scores."""

    key: RowKey
    recipe_name: str
    config_name: str
    run_dir: str
    objective: str
    scores: dict[str, float] = field(default_factory=dict)
    ties: dict[str, int] = field(default_factory=dict)

    @property
    def macro(self) -> float | None:
        return macro_average(self.scores)


@dataclass
class Summary:
    """Mean ± std over the seeds of one (recipe, config, protocol)."""

    recipe_name: str
    recipe_hash: str
    train_hash: str
    config_name: str
    eval_version: str
    seeds: list[int]
    tasks: dict[str, tuple[float, float, int]]  # task → (mean, std, seeds that have it)
    macro: tuple[float, float] | None

    @property
    def label(self) -> str:
        return row_label(self.recipe_name, self.recipe_hash, self.train_hash, self.eval_version)


def row_label(recipe_name: str, recipe_hash: str, train_hash: str, eval_version: str) -> str:
    return f"{recipe_name} {recipe_hash[:6]}/{train_hash[:6]} v{eval_version}"


def macro_average(scores: dict[str, float]) -> float | None:
    """Mean of the top-level scores, with the fine-tuning tasks first averaged into one."""
    glue = [v for t, v in scores.items() if t.split("@")[0] in GLUE_TASKS]
    parts = [v for t, v in scores.items() if t.split("@")[0] not in GLUE_TASKS]
    if glue:
        parts.append(sum(glue) / len(glue))
    return sum(parts) / len(parts) if parts else None


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


class Leaderboard:
    """A SQLite leaderboard file (created on first use)."""

    def __init__(self, path: str | Path = DEFAULT_DB):
        self.path = Path(path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path)
        try:
            conn.executescript(SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            with conn:  # one transaction: a row and its scores land together or not at all
                yield conn
        finally:
            conn.close()

    def record(
        self,
        key: RowKey,
        results: Iterable[TaskResult],
        *,
        recipe_name: str,
        config_name: str,
        run_dir: str,
        objective: str,
        task_names: dict[str, str] | None = None,
    ) -> None:
        """Insert or update a row; ``task_names`` renames tasks (e.g. ``blimp@20`` for subsets)."""
        names = task_names or {}
        now = datetime.now(UTC).isoformat(timespec="seconds")
        k = (key.recipe_hash, key.train_hash, key.eval_version, key.seed)
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?)",
                (*k, recipe_name, config_name, run_dir, objective, now),
            )
            for result in results:
                task = names.get(result.task, result.task)
                conn.execute(
                    "DELETE FROM scores WHERE recipe_hash=? AND train_hash=? AND eval_version=? "
                    "AND seed=? AND task=?",
                    (*k, task),
                )
                head = (*k, task, result.version, result.metric)
                conn.execute(
                    "INSERT INTO scores VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (*head, "", "", result.score, result.n, result.ties),
                )
                for grp, labels in result.groups.items():
                    conn.executemany(
                        "INSERT INTO scores VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        [(*head, grp, lbl, g.score, g.n, g.ties) for lbl, g in labels.items()],
                    )

    def rows(self) -> list[Row]:
        """Every row with its top-level scores, ordered by recipe name, hashes and seed."""
        with self._connect() as conn:
            runs = conn.execute(
                "SELECT * FROM runs "
                "ORDER BY recipe_name, recipe_hash, train_hash, eval_version, seed"
            ).fetchall()
            scores = conn.execute(
                "SELECT recipe_hash, train_hash, eval_version, seed, task, value, ties "
                "FROM scores WHERE grp = ''"
            ).fetchall()
        by_key: dict[RowKey, Row] = {}
        for r in runs:
            key = RowKey(*r[:4])
            by_key[key] = Row(key, r[4], r[5], r[6], r[7])
        for *k, task, value, ties in scores:
            row = by_key.get(RowKey(*k))
            if row is not None:
                row.scores[task] = value
                row.ties[task] = ties
        return list(by_key.values())

    def summaries(self) -> list[Summary]:
        """Rows grouped over seeds: mean ± std per task and for the macro average."""
        groups: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
        for row in self.rows():
            groups[(row.key.recipe_hash, row.key.train_hash, row.key.eval_version)].append(row)
        out = []
        for (recipe_hash, train_hash, version), rows in groups.items():
            tasks = sorted({t for r in rows for t in r.scores})
            per_task = {}
            for task in tasks:
                values = [r.scores[task] for r in rows if task in r.scores]
                per_task[task] = (*mean_std(values), len(values))
            macros = [m for r in rows if (m := r.macro) is not None]
            out.append(
                Summary(
                    rows[0].recipe_name,
                    recipe_hash,
                    train_hash,
                    rows[0].config_name,
                    version,
                    [r.key.seed for r in rows],
                    per_task,
                    mean_std(macros) if macros else None,
                )
            )
        return out

    def group_scores(self, task_prefix: str, grp: str) -> dict[str, dict[str, float]]:
        """Summary label → {group label: mean over seeds} of one breakdown (BLiMP phenomena)."""
        with self._connect() as conn:
            found = conn.execute(
                "SELECT s.recipe_hash, s.train_hash, s.eval_version, r.recipe_name, s.label, "
                "AVG(s.value) FROM scores s JOIN runs r USING "
                "(recipe_hash, train_hash, eval_version, seed) WHERE s.grp = ? AND "
                "(s.task = ? OR s.task LIKE ?) GROUP BY 1, 2, 3, 4, 5 ORDER BY 4, 1, 2, 3, 5",
                (grp, task_prefix, f"{task_prefix}@%"),
            ).fetchall()
        out: dict[str, dict[str, float]] = defaultdict(dict)
        for recipe_hash, train_hash, version, name, label, value in found:
            out[row_label(name, recipe_hash, train_hash, version)][label] = value
        return dict(out)
