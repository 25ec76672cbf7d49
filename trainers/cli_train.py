"""``corpuskit train BUILD_DIR --config ... --set key=value``; also ``python -m trainers.train``.

Registered into the ``corpuskit`` CLI through the ``corpuskit.commands`` entry point. User errors
print one line (with a hint) and exit 2, as everywhere in corpuskit.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer

from corpuskit.errors import CorpuskitError


def train_command(
    build_dir: Path = typer.Argument(..., help="a build directory, e.g. out/<name>/<hash>"),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="YAML config (a path, or a name in trainers/configs/)"
    ),
    overrides: list[str] = typer.Option(
        [], "--set", "-s", help="override a config field: --set lr=3e-4 (repeatable)"
    ),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="where run directories go"),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="continue from checkpoints"),
    stop_after: int | None = typer.Option(
        None, "--stop-after", help="checkpoint and exit after this many steps (time-limited jobs)"
    ),
) -> None:
    """Train a model on a build; print the run directory (runs/<recipe>/<hash>/<config>/)."""
    # Imported here so `corpuskit --help` stays fast and works without torch installed.
    from trainers.config import TrainConfig
    from trainers.train import train

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        cfg = TrainConfig.load(config, overrides)
        out = train(build_dir, cfg, runs_dir, resume=resume, stop_after=stop_after)
    except CorpuskitError as exc:
        typer.echo(f"error: {exc.one_line()}", err=True)
        raise typer.Exit(2) from None
    typer.echo(str(out))


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)


def main() -> None:
    """``python -m trainers.train``: the same command without the corpuskit CLI."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(train_command)
    app()
