"""Core verbs: validate, build, inspect, ls, verify."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from corpuskit.build import build
from corpuskit.cli_common import console, data_root_option, err_console, user_errors
from corpuskit.datapaths import find_data_root
from corpuskit.errors import CorpuskitError, RecipeError
from corpuskit.pipeline import TaskResult
from corpuskit.recipe import Recipe
from corpuskit.registry import FAMILIES, describe, registry, step_kinds
from corpuskit.report import render_inspect, render_summary, steps_table
from corpuskit.shards import open_build, verify


class _BuildProgress:
    """Rich progress over stage-1 tasks (partitions)."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.task_id = progress.add_task("reading + filtering", total=None)

    def start(self, total: int) -> None:
        self.progress.update(self.task_id, total=total)

    def advance(self, _result: TaskResult) -> None:
        self.progress.advance(self.task_id)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("build")(build_cmd)
    app.command("inspect")(inspect)
    app.command("ls")(ls)
    app.command("verify")(verify_cmd)


@user_errors
def validate(
    recipes: list[Path] = typer.Argument(..., help="recipe YAML files"),
    data_root: Path | None = data_root_option(),
) -> None:
    """Check recipes (kinds, fields, paths, optional dependencies) without reading data."""
    root = find_data_root(data_root)
    failed = 0
    for path in recipes:
        try:
            recipe = Recipe.from_yaml(path)
            recipe.check(root)
        except RecipeError as exc:
            failed += 1
            for item in exc.items:
                typer.echo(item.render(exc.file or str(path)), err=True)
            continue
        except CorpuskitError as exc:
            failed += 1
            typer.echo(f"{path}: {exc.one_line()}", err=True)
            continue
        typer.echo(f"{path}  ok  {recipe.name}  {recipe.hash}")
    if failed:
        raise typer.Exit(2)


@user_errors
def build_cmd(
    recipe_path: Path = typer.Argument(..., metavar="RECIPE", help="recipe YAML file"),
    out: Path = typer.Option(
        Path("out"), "--out", help="output root; the build goes to OUT/<name>/<hash>"
    ),
    data_root: Path | None = data_root_option(),
    workers: int | None = typer.Option(
        None, "--workers", help="worker processes (default: all cores)"
    ),
    executor: str = typer.Option("local", "--executor", help="local or ray"),
    address: str | None = typer.Option(
        None, "--address", help="ray: cluster address (e.g. auto); default starts Ray locally"
    ),
    num_cpus: int | None = typer.Option(None, "--num-cpus", help="ray: CPUs for a local Ray"),
    ray_engine: str | None = typer.Option(
        None, "--ray-engine", help="ray: data (Ray Data, the default) or tasks (one per partition)"
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="replace a different build at the same path"
    ),
    keep_rejects: bool | None = typer.Option(
        None,
        "--keep-rejects/--no-keep-rejects",
        help="write dropped documents to rejects/ (default: the recipe's output.keep_rejects)",
    ),
    budget: int | None = typer.Option(None, "--budget", help="override the word budget total"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar or summary"),
) -> None:
    """Build a recipe into versioned Arrow shards and a manifest."""
    recipe = Recipe.from_yaml(recipe_path)
    if budget is not None:
        recipe = recipe.with_budget(budget)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, disable=quiet, transient=True) as progress:
        result = build(
            recipe,
            out=out,
            data_root=data_root,
            workers=workers,
            executor=executor,
            executor_options={
                k: v
                for k, v in (("address", address), ("num_cpus", num_cpus), ("engine", ray_engine))
                if v is not None
            },
            overwrite=overwrite,
            keep_rejects=keep_rejects,
            progress=_BuildProgress(progress),
        )
    if not quiet:
        render_summary(result.manifest, console, cached=result.cached)
    typer.echo(str(result.path))


@user_errors
def inspect(
    build_dir: Path = typer.Argument(
        ..., metavar="BUILD", help="a build directory out/<name>/<hash>"
    ),
    samples: int = typer.Option(3, "--samples", help="documents to show"),
    dedup: bool = typer.Option(False, "--dedup", help="show the dedup/decontamination reports"),
) -> None:
    """Show a build's manifest as tables: sources, ledger, shards, licenses, samples."""
    render_inspect(open_build(build_dir), console, samples=samples, dedup=dedup)


@user_errors
def ls(family: str | None = typer.Argument(None, help=f"one of: {', '.join(FAMILIES)}")) -> None:
    """List registered steps with their parameters and descriptions."""
    kinds = step_kinds()
    families = [family] if family else list(FAMILIES)
    for fam in families:
        reg = registry(fam)
        for kind in kinds.get(fam, reg.names()):
            cls = reg.get(kind)
            doc = (cls.__doc__ or "").strip().splitlines()
            console.print(steps_table(f"{fam}: {kind}", doc[0] if doc else "", describe(cls)))


@user_errors
def verify_cmd(
    build_dir: Path = typer.Argument(..., metavar="BUILD", help="a build directory"),
) -> None:
    """Re-hash every shard and recount words against the manifest."""
    problems = verify(build_dir)
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise typer.Exit(1)
    console.print(f"{build_dir}: ok")
