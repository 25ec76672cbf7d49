"""Rich renderings of manifests: the build summary and ``corpuskit inspect``."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from corpuskit.shards import Build


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def ledger_table(manifest: dict[str, Any]) -> Table:
    table = Table(title="attrition ledger (per step)", title_justify="left")
    for col in ("step", "family", "docs in", "words in", "docs out", "words out", "dropped"):
        table.add_column(col, justify="right" if "docs" in col or "words" in col else "left")
    for row in manifest.get("ledger", []):
        dropped = ", ".join(
            f"{reason}: {v['docs']:,} docs / {v['words']:,} words"
            for reason, v in row.get("dropped", {}).items()
        )
        table.add_row(
            row["step"],
            row["family"],
            _n(row["docs_in"]),
            _n(row["words_in"]),
            _n(row["docs_out"]),
            _n(row["words_out"]),
            dropped or "-",
        )
    return table


def sources_table(manifest: dict[str, Any]) -> Table:
    table = Table(title="sources (words)", title_justify="left")
    cols = ("source", "kind", "license", "read", "filtered", "deduplicated", "out")
    for col in cols:
        table.add_column(col, justify="left" if col in cols[:3] else "right")
    for s in manifest.get("sources", []):
        license_ = s["license"] + (" (non-commercial)" if s.get("non_commercial") else "")
        table.add_row(
            s["name"],
            s["kind"],
            license_,
            _n(s["words_read"]),
            _n(s["words_filtered"]),
            _n(s["words_deduplicated"]),
            _n(s["words_out"]),
        )
    return table


def budget_table(budget: dict[str, Any]) -> Table:
    """Per quota key (``*`` without quotas): words available, requested, selected; the cut doc."""
    title = (
        f"budget: {_n(budget.get('selected'))} of {_n(budget.get('total'))} words selected "
        f"(truncate: {budget.get('truncate')}, on_short: {budget.get('on_short')}"
        + (f"; short: {', '.join(budget['short'])})" if budget.get("short") else ")")
    )
    table = Table(title=title, title_justify="left")
    for col in ("key", "available", "requested", "selected", "docs", "epochs", "truncated"):
        table.add_column(col, justify="left" if col in ("key", "truncated") else "right")
    for key, row in budget.get("keys", {}).items():
        cut = row.get("truncated")
        table.add_row(
            key,
            _n(row["available"]),
            _n(row["requested"]),
            _n(row["selected"]),
            _n(row["docs"]),
            f"{row['epochs']:.3f}",
            f"{cut['id']} ({cut['words']:,} of {cut['of']:,} words)" if cut else "-",
        )
    return table


def shards_table(manifest: dict[str, Any]) -> Table:
    table = Table(title="shards", title_justify="left")
    for col in ("file", "stage", "rows", "words", "sha256"):
        table.add_column(col, justify="right" if col in ("rows", "words") else "left")
    for s in manifest.get("shards", []):
        table.add_row(
            s["file"], s.get("stage", ""), _n(s["rows"]), _n(s["words"]), s["sha256"][:16]
        )
    return table


def render_summary(manifest: dict[str, Any], console: Console, *, cached: bool = False) -> None:
    totals = manifest["totals"]
    state = "reused existing build" if cached else "built"
    console.print(
        f"{state} [bold]{manifest['name']}[/] {manifest['recipe_hash']}: "
        f"{totals['docs']:,} documents, {totals['words']:,} words in "
        f"{len(manifest['shards'])} shard(s); {manifest['rejects']['rows']:,} rejected"
    )
    console.print(ledger_table(manifest))


def render_inspect(build: Build, console: Console, *, samples: int, dedup: bool) -> None:
    m = build.manifest
    console.print(
        f"[bold]{m['name']}[/] recipe {m['recipe_hash']}  format {m['format_version']}  "
        f"corpuskit {m['corpuskit_version']}  built {m.get('built_at', '?')}"
    )
    console.print(
        f"{m['totals']['docs']:,} documents, {m['totals']['words']:,} words; "
        f"synthetic share {m.get('synthetic', {}).get('share', 0):.2%}"
    )
    console.print(sources_table(m))
    console.print(ledger_table(m))
    if m.get("budget"):
        console.print(budget_table(m["budget"]))
    console.print(shards_table(m))
    licenses = Table(title="licenses", title_justify="left")
    licenses.add_column("license")
    licenses.add_column("sources")
    for license_, names in m.get("licenses", {}).items():
        licenses.add_row(license_, ", ".join(names))
    console.print(licenses)
    if m.get("non_commercial_sources"):
        console.print(
            "[yellow]non-commercial / research-only sources:[/] "
            + ", ".join(m["non_commercial_sources"])
        )
    if dedup:
        from corpuskit.dedup.report import render_dedup_report

        render_dedup_report(m, console)
    if samples:
        sample = Table(title=f"first {samples} documents", title_justify="left")
        sample.add_column("id")
        sample.add_column("words", justify="right")
        sample.add_column("text")
        for i, doc in enumerate(build.documents()):
            if i >= samples:
                break
            text = doc.text if len(doc.text) < 200 else doc.text[:200] + "…"
            sample.add_row(doc.id, _n(doc.words), text)
        console.print(sample)


def steps_table(title: str, summary: str, rows: list[tuple[str, str, str, str]]) -> Table:
    table = Table(title=f"{title} — {summary}" if summary else title, title_justify="left")
    for col in ("parameter", "type", "default", "description"):
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    return table
