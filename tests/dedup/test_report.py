"""The dedup report renderer for ``corpuskit inspect --dedup``."""

from __future__ import annotations

from rich.console import Console

from corpuskit.dedup import ExactDedup
from corpuskit.dedup.report import MAX_CHARS, MAX_CLUSTERS, render_dedup_report
from corpuskit.document import Document, docs_to_block
from corpuskit.step import RunContext


def test_render_shows_clusters_and_sources() -> None:
    docs = [Document(f"d{i:02d}", f"text {i % 12}", "web" if i % 2 else "books") for i in range(40)]
    docs.append(Document("long", "x " * 500, "web"))
    docs.append(Document("long2", "x " * 500, "web"))
    ctx = RunContext(seed=0)
    ExactDedup().duplicates(docs_to_block(docs), ctx)
    ExactDedup(scope="within_source").duplicates(docs_to_block(docs), ctx)
    report = ctx.reports["exact"]
    assert report["clusters"] == 13
    assert len(report["largest"]) == MAX_CLUSTERS
    assert all(len(c["kept"]["text"]) <= MAX_CHARS for c in report["largest"])
    assert report["cluster_sizes"] == {"2": 1, "3": 8, "4": 4}
    assert set(ctx.reports) == {"exact", "exact#2"}
    manifest = {"recipe": {"dedup": [{"kind": "exact"}, {"kind": "exact"}]}, "reports": ctx.reports}
    console = Console(record=True, width=160)
    render_dedup_report(manifest, console)
    out = console.export_text()
    assert "exact (exact) clusters: 13" in out
    assert "exact#2 (exact)" in out
    assert "books" in out and "web" in out


def test_render_without_reports() -> None:
    console = Console(record=True)
    render_dedup_report({"reports": {}}, console)
    assert "no dedup reports" in console.export_text()
