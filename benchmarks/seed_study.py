"""Seed study (issue #12): recipes at equal word budgets, N seeds, BLiMP + a GLUE subset.

    python benchmarks/seed_study.py                  # CPU: tiny.yaml; CUDA: babylm-small as LTG-BERT
    python benchmarks/seed_study.py --seeds 1 --tasks blimp --blimp-limit 5 --budget 5000

Each (recipe, seed) is ``corpuskit score`` through its API (:func:`trainers.score.score`): the
recipe rebuilt at the common budget with the seed as its recipe seed (it picks and orders the
documents), trained with the seed as the training seed (init, data order, masking), then scored
one task at a time, so every stage and every task is cached on its own under ``--work`` and a
rerun (after a crash or a ``--time-cap``) resumes where it stopped. Rows print as they finish;
the final table gives per recipe the mean ± sample sd over seeds of every task and of the GLUE
mean (the mean of the fine-tuning tasks of one seed), and the recipes ordered by GLUE mean.

The budget defaults to the smallest recipe's available words (each recipe built once at its own
budget; cached). MRPC's test pairs are in ``paraphrase-pairs``: its builds here add a
``decontaminate`` step against the MRPC evaluation split (the MSRP test file, which is what the
``mrpc`` fine-tuning task validates on), so no recipe sees those pairs.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _inputs import DATA, key_values

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

RECIPES = ("babylm-mix", "paraphrase-pairs", "wiktionary")
# At ≈81k words the whole training is ~1M tokens: compiling would cost more than it saves.
CUDA_CONFIG = (
    "babylm-small.yaml",
    ["arch=ltgbert", "batch_size=32", "warmup_steps=20", "compile=off"],
)
# The split the `mrpc` task validates on (trainers/evaluate/finetune_data.py: mrpc()).
MRPC_EVAL = {
    "name": "mrpc_eval",
    "paths": ["paraphrase/mrpc/msr_paraphrase_test.txt"],
    "fields": ["#1 String", "#2 String"],
    "format": "tsv",  # a .txt file: auto would read whole lines
}
DECONTAMINATE = {"paraphrase-pairs": {"kind": "decontaminate", "sets": [MRPC_EVAL]}}


@dataclass
class Row:
    """One (recipe, seed): its task scores (0-1) and what happened."""

    recipe: str
    seed: int
    scores: dict[str, float] = field(default_factory=dict)
    words: int = 0
    seconds: float = 0.0
    status: str = "done"


class TimeCapError(Exception):
    """A (recipe, seed) ran past ``--time-cap``; what finished is cached."""


@contextmanager
def time_cap(seconds: float | None) -> Iterator[None]:
    """Raise :class:`TimeCapError` in this (main) thread after ``seconds``; None: no cap."""
    if not seconds:
        yield
        return

    def expire(_signum: int, _frame: Any) -> None:
        raise TimeCapError

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def study_recipe(name: str, *, seed: int | None, budget: int | None) -> Any:
    """The recipe as the study builds it: decontaminated where needed, seed and budget set."""
    from corpuskit import Recipe

    data = Recipe.from_yaml(REPO / "recipes" / f"{name}.yaml").to_dict()
    if name in DECONTAMINATE:
        data["dedup"] = [*data["dedup"], DECONTAMINATE[name]]
    if seed is not None:
        data["seed"] = seed
    recipe = Recipe.from_dict(data, file=f"{name}.yaml")
    return recipe.with_budget(budget) if budget is not None else recipe


def available_words(names: list[str], out: Path, data_root: Path) -> dict[str, int]:
    """Words each recipe holds at its own budget (short recipes keep all they have)."""
    from corpuskit import open_build

    words = {}
    for name in names:
        built = study_recipe(name, seed=None, budget=None).build(out=out, data_root=data_root)
        words[name] = int(open_build(built.path).manifest["totals"]["words"])
    return words


def task_label(task: str, blimp_limit: int | None) -> str:
    return f"{task}@{blimp_limit}" if task == "blimp" and blimp_limit else task


def run_one(recipe: str, seed: int, opts: argparse.Namespace, work: Path) -> Row:
    """Score one (recipe, seed), task by task (each cached); stops at the time cap."""
    from corpuskit import open_build
    from trainers.evaluate.runner import EvalSettings
    from trainers.score import score

    path = work / "recipes" / f"{recipe}-seed{seed}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(study_recipe(recipe, seed=seed, budget=opts.budget).to_yaml())
    row, start = Row(recipe, seed), time.perf_counter()
    try:
        with time_cap(opts.time_cap):
            for task in opts.tasks:
                settings = EvalSettings(
                    limit=opts.blimp_limit if task == "blimp" else None,
                    finetune=opts.finetune,
                    device=opts.device,
                )
                outcome = score(
                    path,
                    opts.config,
                    overrides=opts.overrides,
                    seed=seed,
                    tasks=[task],
                    data_root=opts.data_root,
                    out=work / "out",
                    runs_dir=work / "runs",
                    db=work / "leaderboard.sqlite",
                    settings=settings,
                )
                row.scores[task_label(task, opts.blimp_limit)] = outcome.eval.results[0].score
                row.words = int(open_build(outcome.build_path).manifest["totals"]["words"])
    except TimeCapError:
        row.status = f"time cap ({opts.time_cap:.0f} s)"
    row.seconds = time.perf_counter() - start
    return row


def glue_mean(scores: dict[str, float], glue: list[str]) -> float | None:
    """Mean of the fine-tuning tasks of one row; None unless every one of them finished."""
    values = [scores[t] for t in glue if t in scores]
    return statistics.fmean(values) if glue and len(values) == len(glue) else None


def mean_sd(values: list[float]) -> tuple[float, float | None]:
    """Mean and sample sd (None for a single value)."""
    sd = statistics.stdev(values) if len(values) > 1 else None
    return statistics.fmean(values), sd


def summarize(
    rows: list[Row], tasks: list[str], glue: list[str]
) -> dict[str, dict[str, tuple[float, float | None, int]]]:
    """Per recipe (in row order), per task and ``GLUE``: (mean, sd, seeds) over finished rows."""
    table: dict[str, dict[str, tuple[float, float | None, int]]] = {}
    for recipe in dict.fromkeys(r.recipe for r in rows):
        mine = [r for r in rows if r.recipe == recipe]
        cells = {}
        for task in tasks:
            values = [r.scores[task] for r in mine if task in r.scores]
            if values:
                cells[task] = (*mean_sd(values), len(values))
        means = [m for m in (glue_mean(r.scores, glue) for r in mine) if m is not None]
        if means:
            cells["GLUE"] = (*mean_sd(means), len(means))
        table[recipe] = cells
    return table


def ordering(table: dict[str, dict[str, tuple[float, float | None, int]]]) -> str:
    """Recipes by GLUE mean, best first: ``a (62.1) > b (60.0)``."""
    ranked = sorted(
        (cells["GLUE"][0], recipe) for recipe, cells in table.items() if "GLUE" in cells
    )
    return " > ".join(f"{recipe} ({100 * mean:.1f})" for mean, recipe in reversed(ranked))


def cell(value: tuple[float, float | None, int] | None) -> str:
    if value is None:
        return "-"
    mean, sd, n = value
    spread = f" ± {100 * sd:.1f}" if sd is not None else ""
    return f"{100 * mean:.1f}{spread} (n={n})"


def render(
    table: dict[str, dict[str, tuple[float, float | None, int]]], columns: list[str]
) -> list[str]:
    """Markdown lines: a recipe per row, scores in % as mean ± sd (seeds)."""
    lines = ["| recipe | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for recipe, cells in table.items():
        lines.append(f"| {recipe} | " + " | ".join(cell(cells.get(c)) for c in columns) + " |")
    return lines


def row_line(row: Row, labels: list[str], glue: list[str]) -> str:
    scores = " ".join(f"{t}={100 * row.scores[t]:.1f}" for t in labels if t in row.scores)
    mean = glue_mean(row.scores, glue)
    glue_text = f" GLUE={100 * mean:.1f}" if mean is not None else ""
    return (
        f"row {row.recipe} seed={row.seed} words={row.words:,} {scores}{glue_text} "
        f"[{row.status}, {row.seconds:.0f} s]"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", default=",".join(RECIPES), help="comma-separated names")
    parser.add_argument("--budget", type=int, default=None, help="words (default: smallest)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument("--config", default=None, help="trainer config (default by device)")
    parser.add_argument("--set", action="append", default=[], dest="overrides", help="key=value")
    parser.add_argument("--tasks", default="blimp,rte,wnli,mrpc")
    parser.add_argument("--blimp-limit", type=int, default=20, help="BLiMP pairs per paradigm")
    parser.add_argument(
        "--finetune-set", action="append", default=[], dest="finetune", help="key=value"
    )
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.add_argument("--time-cap", type=float, default=None, help="seconds per recipe+seed")
    parser.add_argument("--work", type=Path, default=Path("seed-study"), help="caches, db")
    parser.add_argument("--data-root", type=Path, default=DATA)
    opts = parser.parse_args(argv)
    opts.recipes = [r.strip() for r in opts.recipes.split(",") if r.strip()]
    opts.tasks = [t.strip() for t in opts.tasks.split(",") if t.strip()]
    opts.finetune = key_values(opts.finetune, "--finetune-set")
    return opts


def main(argv: list[str] | None = None) -> list[Row]:
    opts = parse_args(argv)
    import torch

    from trainers.evaluate.finetune import FINETUNE_TASKS
    from trainers.evaluate.models import resolve_device

    device = resolve_device(opts.device)
    if opts.config is None:  # the docs' planned study config on a GPU, the smoke config on CPU
        opts.config, defaults = CUDA_CONFIG if device.type == "cuda" else ("tiny.yaml", [])
        opts.overrides = [*defaults, *opts.overrides]
    opts.overrides = [*opts.overrides, f"device={device.type}", "quiet=true"]
    opts.work.mkdir(parents=True, exist_ok=True)
    if opts.budget is None:
        words = available_words(opts.recipes, opts.work / "out", opts.data_root)
        opts.budget = min(words.values())
        print("available words: " + ", ".join(f"{k} {v:,}" for k, v in words.items()))
    labels = [task_label(t, opts.blimp_limit) for t in opts.tasks]
    glue = [t for t in opts.tasks if t in FINETUNE_TASKS]
    name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    print(
        f"device {name} · config {opts.config} {' '.join(opts.overrides)} · budget "
        f"{opts.budget:,} words · tasks {','.join(labels)} · finetune {opts.finetune or '-'}",
        flush=True,
    )
    rows: list[Row] = []
    rows_file = opts.work / "rows.json"
    for seed in range(opts.seeds):  # seed-major: a cut-short run still covers every recipe
        for recipe in opts.recipes:
            rows.append(run_one(recipe, seed, opts, opts.work))
            print(row_line(rows[-1], labels, glue), flush=True)
            # Rewritten after every row: a run killed from outside still leaves its rows.
            rows_file.write_text(json.dumps([r.__dict__ for r in rows], indent=1) + "\n")
    table = summarize(rows, labels, glue)
    print("\n".join(["", *render(table, [*labels, "GLUE"] if glue else labels)]))
    if glue:
        print(f"\nordering on GLUE mean: {ordering(table)}")
    return rows


if __name__ == "__main__":
    from corpuskit.errors import CorpuskitError

    try:
        main()
    except CorpuskitError as exc:  # a bad recipe, config or data root: one line, as the CLI does
        print(f"seed_study: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
