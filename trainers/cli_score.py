"""``corpuskit score``, ``evaluate`` and ``leaderboard`` (plugged in via ``corpuskit.commands``).

No logic here: :func:`trainers.score.score` runs the stages, :mod:`trainers.leaderboard` and
:mod:`trainers.evaluate.report` render. User errors print one line and exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from corpuskit.cli_common import console, data_root_option, user_errors

DB_HELP = "SQLite leaderboard file"
# Options that `score` and `evaluate` share (one definition, the same help in both).
TASKS = typer.Option("blimp", "--tasks", help="comma-separated tasks, task YAMLs or .jsonl")
LIMIT = typer.Option(None, "--limit", help="pairs per task file (a quick subset)")
MODE = typer.Option("auto", "--mode", help="auto | causal | masked | mntp")
REDUCTION = typer.Option("sum", "--reduction", help="sum | mean of token log-probs")
PRECISION = typer.Option("float32", "--precision", help="float32 | float64 log-softmax")
COMPUTE = typer.Option(
    "fp32", "--compute", help="fp32 | tf32 | bf16 forward pass (pair tasks; fp32 is exact)"
)
FINETUNE = typer.Option(
    [], "--finetune-set", help="fine-tuning override key=value, e.g. max_train=64 (repeatable)"
)
DEVICE = typer.Option("auto", "--device", help="evaluate on auto | cpu | cuda")
DB = typer.Option(Path("leaderboard.sqlite"), "--db", help=DB_HELP)


@user_errors
def score_command(
    recipe: Path = typer.Argument(..., help="recipe YAML"),
    train: Path = typer.Option(
        ..., "--train", "-t", help="training config (path or packaged name)"
    ),
    overrides: list[str] = typer.Option([], "--set", "-s", help="config override key=value"),
    seed: int | None = typer.Option(
        None, "--seed", help="training seed (default: the config's); one leaderboard row per seed"
    ),
    tasks: str = TASKS,
    budget: int | None = typer.Option(None, "--budget", help="override the recipe's word budget"),
    limit: int | None = LIMIT,
    mode: str = MODE,
    reduction: str = REDUCTION,
    precision: str = PRECISION,
    compute: str = COMPUTE,
    finetune: list[str] = FINETUNE,
    device: str = DEVICE,
    data_root: Path | None = data_root_option(),
    out: Path = typer.Option(Path("out"), "--out", help="build output folder"),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="training runs folder"),
    db: Path = DB,
) -> None:
    """Build → train → evaluate a recipe (each stage cached) and write a leaderboard row."""
    from trainers.score import score

    settings = _settings(limit, mode, reduction, precision, compute, finetune, device)
    outcome = score(
        recipe,
        train,
        overrides=overrides,
        seed=seed,
        tasks=_task_list(tasks),
        budget=budget,
        data_root=data_root,
        out=out,
        runs_dir=runs_dir,
        db=db,
        settings=settings,
    )
    reuse = {True: "cached", False: "done"}
    # Plain echo: paths must not wrap, and "[cached]" is not rich markup.
    typer.echo(f"build  {outcome.build_path}  [{reuse[outcome.build_cached]}]")
    typer.echo(f"train  {outcome.run_dir}  [{reuse[outcome.train_cached]}]")
    typer.echo(f"eval   {outcome.eval.path}  [{reuse[outcome.eval.cached]}]")
    _print_results(outcome.eval.results)
    _print_row(outcome.db, outcome.key)


@user_errors
def evaluate_command(
    model: Path = typer.Argument(..., help="a saved HF model folder, a run's model/ or the run"),
    tasks: str = TASKS,
    objective: str | None = typer.Option(
        None, "--objective", help="causal | masked, for an HF model its config does not tell"
    ),
    trust_remote_code: bool = typer.Option(
        False, "--trust-remote-code", help="run the model code saved in the folder (if trusted)"
    ),
    limit: int | None = LIMIT,
    mode: str = MODE,
    reduction: str = REDUCTION,
    precision: str = PRECISION,
    compute: str = COMPUTE,
    finetune: list[str] = FINETUNE,
    device: str = DEVICE,
    data_root: Path | None = data_root_option(),
    cache_dir: Path | None = typer.Option(
        None, "--cache-dir", help="keep results here, per model digest (default: no cache)"
    ),
    name: str | None = typer.Option(
        None, "--leaderboard", help="also record the scores as a leaderboard row of this name"
    ),
    db: Path = DB,
) -> None:
    """Score any saved model on the tasks (a baseline to compare recipes with)."""
    from trainers.model_eval import evaluate_model

    if objective is not None:
        _choice("--objective", objective, ("causal", "masked"))
    outcome = evaluate_model(
        model,
        _task_list(tasks),
        data_root=data_root,
        settings=_settings(limit, mode, reduction, precision, compute, finetune, device),
        objective=objective,
        trust_remote_code=trust_remote_code,
        cache_dir=cache_dir,
        leaderboard_name=name,
        db=db,
    )
    cached = "cached" if outcome.eval.cached else "done"
    typer.echo(f"model  {outcome.path}  [{outcome.objective}, digest {outcome.digest}]")
    typer.echo(f"eval   {outcome.eval.path or '(not cached)'}  [{cached}]")
    _print_results(outcome.eval.results)
    if outcome.key is not None and outcome.db is not None:
        _print_row(outcome.db, outcome.key)


def _task_list(tasks: str) -> list[str]:
    return [t.strip() for t in tasks.split(",") if t.strip()]


def _settings(
    limit: int | None,
    mode: str,
    reduction: str,
    precision: str,
    compute: str,
    finetune: list[str],
    device: str,
) -> Any:
    """EvalSettings from the shared options (located one-line errors for bad values)."""
    from trainers.evaluate.compute import check_compute
    from trainers.evaluate.runner import EvalSettings

    return EvalSettings(
        limit=limit,
        mode=_choice("--mode", mode, ("auto", "causal", "masked", "mntp")),  # type: ignore[arg-type]
        reduction=_choice("--reduction", reduction, ("sum", "mean")),  # type: ignore[arg-type]
        precision=_choice("--precision", precision, ("float32", "float64")),  # type: ignore[arg-type]
        compute=check_compute(compute, location="--compute"),
        finetune=_finetune_overrides(finetune),
        device=device,
    )


def _print_results(results: list[Any]) -> None:
    table = Table("task", "version", "score %", "pairs/examples", "ties")
    for r in results:
        table.add_row(r.task, str(r.version), f"{100 * r.score:.1f}", str(r.n), str(r.ties))
    console.print(table)


def _print_row(db: Path, k: Any) -> None:
    typer.echo(
        f"row    {db}: recipe {k.recipe_hash} · train {k.train_hash} · "
        f"eval {k.eval_version} · seed {k.seed}"
    )


@user_errors
def leaderboard_command(
    db: Path = DB,
    report: Path | None = typer.Option(
        None, "--report", help="also write a self-contained HTML page"
    ),
    plain: bool = typer.Option(False, "--plain", help="tab-separated output (for scripts)"),
) -> None:
    """Print the leaderboard: mean ± std over seeds per task, and the macro average."""
    from corpuskit.errors import InputError
    from trainers.evaluate.report import render_report, summary_table
    from trainers.leaderboard import Leaderboard

    if not db.is_file():
        raise InputError(
            f"no leaderboard at {db}", hint="run `corpuskit score` first, or pass --db"
        )
    board = Leaderboard(db)
    header, cells = summary_table(board.summaries())
    if plain:
        for row in [header, *cells]:
            typer.echo("\t".join(row))
    else:
        table = Table(*header, title=f"{db} (scores in %, mean ± std over seeds)")
        for row in cells:
            table.add_row(*row)
        console.print(table)
    if report is not None:
        typer.echo(f"report {render_report(board, report)}")


def _finetune_overrides(items: list[str]) -> dict[str, object]:
    """``key=value`` pairs checked against FinetuneSettings (located one-line errors)."""
    import yaml
    from pydantic import ValidationError

    from corpuskit.errors import CorpuskitError
    from trainers.evaluate.finetune import FinetuneSettings

    out: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep:
            raise CorpuskitError(f"--finetune-set {item!r} is not key=value")
        out[key.strip()] = yaml.safe_load(raw)
    try:
        FinetuneSettings.model_validate(out)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise CorpuskitError(f"--finetune-set {err['loc'][0]}: {err['msg']}") from None
    return out


def _choice(option: str, value: str, allowed: tuple[str, ...]) -> str:
    from corpuskit.errors import CorpuskitError

    if value not in allowed:
        raise CorpuskitError(f"{option} {value!r} is not one of {', '.join(allowed)}")
    return value


def register(app: typer.Typer) -> None:
    app.command("score")(score_command)
    app.command("evaluate")(evaluate_command)
    app.command("leaderboard")(leaderboard_command)
