"""Verbs over finished builds: ``diff`` (explain two builds) and ``ls-builds`` (list them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from corpuskit.cli_common import console, user_errors
from corpuskit.versioning import BuildDiff, diff_builds, list_builds


def register(app: typer.Typer) -> None:
    """Add ``diff`` and ``ls-builds`` to the corpuskit CLI."""
    app.command("diff")(diff_cmd)
    app.command("ls-builds")(ls_builds_cmd)


def _show(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _delta(a: int, b: int) -> str:
    return f"{b - a:+,}"


def render_diff(diff: BuildDiff) -> None:
    console.print(f"[bold]A[/] {diff.a} ({diff.hashes[0]})\n[bold]B[/] {diff.b} ({diff.hashes[1]})")
    if diff.recipe:
        table = Table(title="recipe fields that differ", title_justify="left")
        for col in ("field", "A", "B"):
            table.add_column(col)
        for path, va, vb in diff.recipe:
            table.add_row(path, _show(va), _show(vb))
        console.print(table)
    else:
        console.print("recipes: identical")
    words = Table(title="words per source", title_justify="left")
    for col in ("source", "A", "B", "change"):
        words.add_column(col, justify="left" if col == "source" else "right")
    for name, (a, b) in diff.words_by_source.items():
        words.add_row(name, _show(a), _show(b), _delta(a, b))
    for key, (a, b) in diff.totals.items():
        words.add_row(f"[bold]total {key}[/]", _show(a), _show(b), _delta(a, b))
    console.print(words)
    console.print(
        f"documents: {diff.added:,} added, {diff.removed:,} removed, {diff.changed:,} changed "
        f"(same id, other text), {diff.common - diff.changed:,} unchanged"
    )
    for kind, rows in diff.samples.items():
        if not rows:
            continue
        table = Table(title=f"sample of {kind} documents", title_justify="left")
        for col in ("id", "words", "text"):
            table.add_column(col, justify="right" if col == "words" else "left")
        for row in rows:
            table.add_row(row["id"], _show(row["words"]), row["text"])
        console.print(table)


@user_errors
def diff_cmd(
    a: Path = typer.Argument(..., metavar="A", help="a build directory out/<name>/<hash>"),
    b: Path = typer.Argument(..., metavar="B", help="another build directory"),
    samples: int = typer.Option(3, "--samples", help="documents shown per kind of change"),
    as_json: bool = typer.Option(False, "--json", help="print the diff as JSON"),
) -> None:
    """Explain two builds: recipe field diff, words per source, documents added/removed."""
    diff = diff_builds(a, b, samples=samples)
    if as_json:
        typer.echo(json.dumps(diff.to_dict(), indent=2, ensure_ascii=False))
        return
    render_diff(diff)


@user_errors
def ls_builds_cmd(
    out: Path = typer.Argument(Path("out"), help="output root"),
    as_json: bool = typer.Option(False, "--json", help="print the list as JSON"),
) -> None:
    """List the builds under an output root with their recipe, hash, words and date."""
    builds = list_builds(out)
    if as_json:
        typer.echo(json.dumps([b.to_dict() for b in builds], indent=2, ensure_ascii=False))
        return
    table = Table(title=f"builds under {out}", title_justify="left")
    # the path is <out>/<name>/<hash>, so the columns name it without a path column
    for col in ("name", "version", "hash", "docs", "words", "budget", "sources", "built"):
        numeric = col in ("docs", "words", "budget")
        table.add_column(col, justify="right" if numeric else "left", no_wrap=col != "sources")
    for b in builds:
        table.add_row(
            b.name,
            _show(b.version),
            b.recipe_hash,
            _show(b.docs),
            _show(b.words),
            _show(b.budget),
            ", ".join(b.sources),
            b.built_at[:16].replace("T", " "),
        )
    console.print(table)
    if not builds:
        console.print(f"no builds under {out}")
