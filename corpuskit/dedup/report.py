"""Dedup reports: what each step removed, for the manifest and ``corpuskit inspect --dedup``.

A step publishes a JSON-able mapping under its label in ``ctx.reports`` (it lands in
``manifest["reports"]``): cluster counts, the largest clusters with a few example ids and texts
(capped), and the documents and words removed per source.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pyarrow as pa

from corpuskit.step import RunContext
from corpuskit.tally import column_values

MAX_CLUSTERS = 10
MAX_EXAMPLES = 3
MAX_CHARS = 160


def publish_report(ctx: RunContext, kind: str, report: dict[str, Any]) -> str:
    """Store ``report`` under the step label (``kind``, ``kind#2``, ... as stage 2 names them)."""
    label, n = kind, 1
    while label in ctx.reports:
        n += 1
        label = f"{kind}#{n}"
    ctx.reports[label] = {"kind": kind, **report}
    return label


def clip(text: str, limit: int = MAX_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def removed_by_source(table: pa.Table, drop: np.ndarray) -> dict[str, dict[str, int]]:
    """{source: {docs, words}} of the dropped rows, sorted by source."""
    sources = table["source"].to_pylist()
    words = column_values(table["words"])
    docs: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for i in np.flatnonzero(drop).tolist():
        docs[sources[i]] += 1
        total[sources[i]] += int(words[i])
    return {s: {"docs": docs[s], "words": total[s]} for s in sorted(docs)}


def cluster_report(table: pa.Table, cluster: np.ndarray, drop: np.ndarray) -> dict[str, Any]:
    """Cluster sizes, the largest clusters with examples, and removals per source.

    ``cluster`` holds a cluster label per row (-1 or a unique label: a singleton).
    """
    labels, inverse, sizes = np.unique(cluster, return_inverse=True, return_counts=True)
    multi = (sizes >= 2) & (labels >= 0)
    ids = table["id"].to_pylist()
    texts = table["text"].to_pylist()
    sources = table["source"].to_pylist()
    kept_of: dict[int, int] = {}
    for i in np.flatnonzero(~drop & multi[inverse]).tolist():
        kept_of.setdefault(int(inverse[i]), i)
    members: dict[int, list[int]] = {}
    for i in np.flatnonzero(drop).tolist():
        members.setdefault(int(inverse[i]), []).append(i)
    candidates = [c for c in np.flatnonzero(multi).tolist() if c in kept_of]
    candidates.sort(key=lambda c: (-int(sizes[c]), ids[kept_of[c]]))

    def example(i: int) -> dict[str, str]:
        return {"id": ids[i], "source": sources[i], "text": clip(texts[i])}

    largest = []
    for c in candidates[:MAX_CLUSTERS]:
        removed = sorted(members.get(c, []), key=lambda i: ids[i])[:MAX_EXAMPLES]
        largest.append(
            {
                "size": int(sizes[c]),
                "kept": example(kept_of[c]),
                "removed": [example(i) for i in removed],
            }
        )
    size_hist = Counter(int(s) for s in sizes[multi])
    return {
        "clusters": int(multi.sum()),
        "docs_in_clusters": int(sizes[multi].sum()),
        "docs_removed": int(drop.sum()),
        "words_removed": int(column_values(table["words"])[drop].sum()) if len(drop) else 0,
        "removed_by_source": removed_by_source(table, drop),
        "cluster_sizes": {str(k): size_hist[k] for k in sorted(size_hist)},
        "largest": largest,
    }


def render_dedup_report(manifest: dict[str, Any], console: Any) -> None:
    """Print every dedup report of a build manifest as rich tables."""
    from rich.table import Table

    reports = manifest.get("reports") or {}
    dedup_kinds = {step["kind"] for step in manifest.get("recipe", {}).get("dedup", [])}
    shown = 0
    for label, report in reports.items():
        if report.get("kind") not in dedup_kinds:
            continue
        shown += 1
        summary = ", ".join(
            f"{key.replace('_', ' ')}: {report[key]:,}"
            for key in (
                "clusters",
                "docs_in_clusters",
                "docs_removed",
                "words_removed",
                "docs_edited",
                "words_removed_in_place",
                "eval_items",
            )
            if isinstance(report.get(key), int)
        )
        console.print(f"[bold]{label}[/bold] ({report['kind']}) {summary}")
        by_source = report.get("removed_by_source") or {}
        if by_source:
            table = Table("source", "docs removed", "words removed", title=f"{label}: by source")
            for source, row in by_source.items():
                table.add_row(source, f"{row['docs']:,}", f"{row['words']:,}")
            console.print(table)
        largest = report.get("largest") or []
        if largest:
            table = Table("size", "kept (id: text)", "removed examples", title=f"{label}: clusters")
            for cluster in largest:
                kept = cluster["kept"]
                removed = "\n".join(f"{r['id']}: {r['text']}" for r in cluster["removed"])
                table.add_row(str(cluster["size"]), f"{kept['id']}: {kept['text']}", removed)
            console.print(table)
        for extra in ("by_set", "examples"):
            if report.get(extra):
                console.print(f"{extra.replace('_', ' ')}: {report[extra]}")
    if not shown:
        console.print("no dedup reports in this build")
