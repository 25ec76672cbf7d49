"""The ``corpuskit`` command line: typer + rich, no logic of its own.

User errors (``CorpuskitError``) print one line to stderr and exit 2 (``cli_common.user_errors``).
Other packages add verbs through the ``corpuskit.commands`` entry-point group: each entry is a
``register(app)`` callable. That is how ``trainers`` adds ``train`` and ``score`` without corpuskit
importing it.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

import typer

from corpuskit.cli_common import console, data_root_option, err_console, user_errors

app = typer.Typer(
    name="corpuskit",
    help="Build data recipes into versioned Arrow shards; train, score and compare them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Modules inside corpuskit that add verbs with register(app).
COMMAND_MODULES = ("corpuskit.cli_core", "corpuskit.cli_builds")
PLUGIN_GROUP = "corpuskit.commands"


def _register_commands() -> None:
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(app)
    for ep in entry_points(group=PLUGIN_GROUP):
        try:
            register = ep.load()
        except ImportError as exc:
            # An optional plugin whose dependencies are missing must not break the core verbs.
            def unavailable(_exc: ImportError = exc, _name: str = ep.name) -> None:
                typer.echo(
                    f"error: `{_name}` is unavailable: {_exc} "
                    "(hint: pip install 'corpuskit[train]')",
                    err=True,
                )
                raise typer.Exit(2)

            app.command(ep.name, help=f"(unavailable: {exc})")(unavailable)
            continue
        register(app)


def main() -> None:
    """Console-script entry point."""
    app()


_register_commands()

__all__ = ["app", "console", "data_root_option", "err_console", "main", "user_errors"]
