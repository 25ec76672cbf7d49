"""What every CLI verb shares: consoles, the user-error wrapper, common options."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from corpuskit.errors import CorpuskitError

console = Console()
err_console = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """Turn CorpuskitError into one line on stderr and exit code 2 (use on every command)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CorpuskitError as exc:
            typer.echo(f"error: {exc.one_line()}", err=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def data_root_option() -> Any:
    return typer.Option(
        None, "--data-root", help="data folder (default: $CORPUSKIT_DATA, then ../shared/data)"
    )
