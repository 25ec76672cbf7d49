"""The ``corpuskit`` command line: typer + rich, no logic of its own.

User errors (``CorpuskitError``) print one line to stderr and exit 2. Other packages add verbs
through the ``corpuskit.commands`` entry-point group (``register(app)``), which is how
``trainers`` adds ``train`` and ``score`` without corpuskit importing it.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from corpuskit.errors import CorpuskitError

app = typer.Typer(
    name="corpuskit",
    help="Build data recipes into versioned Arrow shards; train, score and compare them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])

# Modules inside corpuskit that add verbs with register(app).
COMMAND_MODULES = ("corpuskit.cli_core",)
PLUGIN_GROUP = "corpuskit.commands"


def user_errors(fn: F) -> F:
    """Turn CorpuskitError into one line on stderr and exit code 2 (use on every command)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CorpuskitError as exc:
            err_console.print(f"[bold red]error[/]: {exc.one_line()}", highlight=False, markup=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _register_commands() -> None:
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(app)
    for ep in entry_points(group=PLUGIN_GROUP):
        try:
            register = ep.load()
        except ImportError as exc:
            # An optional plugin whose dependencies are missing must not break the core verbs.
            def unavailable(_exc: ImportError = exc, _name: str = ep.name) -> None:
                err_console.print(
                    f"error: `{_name}` is unavailable: {_exc} (hint: pip install 'corpuskit[train]')"
                )
                raise typer.Exit(2)

            app.command(ep.name, help=f"(unavailable: {exc})")(unavailable)
            continue
        register(app)


def main() -> None:
    """Console-script entry point."""
    app()


def data_root_option() -> Any:
    return typer.Option(
        None, "--data-root", help="data folder (default: $CORPUSKIT_DATA, then ../shared/data)"
    )


def path_arg(help_text: str) -> Any:
    return typer.Argument(..., help=help_text)


_register_commands()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["Path", "app", "console", "err_console", "main", "user_errors"]
