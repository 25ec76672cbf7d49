"""``score``: build (cached) → train (cached by config hash) → evaluate (cached) → leaderboard row.

Every stage reuses earlier work: the build by recipe hash and input fingerprints, the run by
``runs/<recipe>/<recipe-hash>/<config-hash>/metrics.json``, the evaluation by its key (see
:mod:`trainers.evaluate.runner`) under ``<run>/eval/<EVAL_VERSION>/``. The outcome says which
stages were reused, so ``corpuskit score`` can print it and tests can assert it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from corpuskit import Recipe, open_build
from trainers.config import TrainConfig
from trainers.evaluate.runner import EVAL_VERSION, EvalReport, EvalSettings, evaluate
from trainers.leaderboard import DEFAULT_DB, Leaderboard, RowKey


@dataclass
class ScoreOutcome:
    """Where each stage's output is and whether it was reused."""

    build_path: Path
    build_cached: bool
    run_dir: Path
    train_cached: bool
    eval: EvalReport
    key: RowKey
    db: Path


def leaderboard_train_hash(config: TrainConfig) -> str:
    """The config hash with the seed left out: seeds are rows of one leaderboard entry."""
    return config.model_copy(update={"seed": 0}).hash


def task_labels(tasks: list[str], settings: EvalSettings) -> dict[str, str]:
    """Leaderboard names: a subset run is ``blimp@20`` so it never mixes with full scores, and
    a non-fp32 forward pass adds its precision (``blimp@bf16``, ``blimp@20@bf16``).

    ``--limit`` and ``--compute`` change pair tasks only; fine-tuning tasks always run whole,
    in their own precision, and keep their names.
    """
    suffix = "" if settings.limit is None else f"@{settings.limit}"
    suffix += "" if settings.compute == "fp32" else f"@{settings.compute}"
    if not suffix:
        return {}
    from trainers.evaluate.tasks import resolve_task

    specs = [resolve_task(t) for t in tasks]
    return {s.name: f"{s.name}{suffix}" for s in specs if s.kind != "finetune"}


def score(
    recipe_path: str | Path,
    train_config: str | Path,
    *,
    overrides: list[str] | None = None,
    seed: int | None = None,
    tasks: list[str] | None = None,
    budget: int | None = None,
    data_root: str | Path | None = None,
    out: str | Path = "out",
    runs_dir: str | Path = "runs",
    db: str | Path = DEFAULT_DB,
    settings: EvalSettings | None = None,
) -> ScoreOutcome:
    """Score one recipe under one training config and seed; write its leaderboard row."""
    from trainers.run import run_dir
    from trainers.train import train

    tasks = tasks or ["blimp"]
    settings = settings or EvalSettings()
    root = data_root_or_default(data_root)
    check_tasks(tasks, root)  # a broken task file fails before the build and the training
    recipe = Recipe.from_yaml(recipe_path)
    if budget is not None:
        recipe = recipe.with_budget(budget)
    built = recipe.build(out=out, data_root=data_root)
    seed_override = [f"seed={seed}"] if seed is not None else []
    config = TrainConfig.load(train_config, [*(overrides or []), *seed_override])
    expected = run_dir(runs_dir, open_build(built.path), config)
    train_cached = (expected / "metrics.json").is_file()
    run = Path(train(built.path, config, runs_dir))
    report = evaluate(
        run / "model",
        tasks,
        data_root=root,
        settings=settings,
        cache_dir=run / "eval" / EVAL_VERSION,
    )
    key = RowKey(recipe.hash, leaderboard_train_hash(config), EVAL_VERSION, config.seed)
    board = Leaderboard(db)
    board.record(
        key,
        report.results,
        recipe_name=recipe.name,
        config_name=Path(train_config).stem,
        run_dir=str(run),
        objective=config.objective,
        task_names=task_labels(tasks, settings),
    )
    return ScoreOutcome(built.path, built.cached, run, train_cached, report, key, board.path)


def check_tasks(tasks: list[str], data_root: Path | None) -> None:
    """Resolve every task and read users' pair files once (located errors, nothing else)."""
    from trainers.evaluate.tasks import BUILTIN, load_pairs, resolve_task

    for name in tasks:
        spec = resolve_task(name)
        if spec.kind == "minimal_pairs" and spec.name not in BUILTIN:
            load_pairs(spec, data_root)


def data_root_or_default(data_root: str | Path | None) -> Path | None:
    """The given data root, else the configured one (``CORPUSKIT_DATA``, ``../shared/data``)."""
    if data_root is not None:
        return Path(data_root)
    from corpuskit.datapaths import find_data_root

    return find_data_root(None)
