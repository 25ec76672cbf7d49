"""Dedup reports: what each step removed, for the manifest and ``corpuskit inspect --dedup``.

A step publishes a JSON-able mapping under its label in ``ctx.reports`` (it lands in
``manifest["reports"]``): cluster counts, the largest clusters with a few example ids and texts
(capped), and the documents and words removed per source.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpuskit.step import RunContext
from corpuskit.tally import sums_by

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
    dropped = table.select(["source", "words"]).filter(pa.array(np.asarray(drop, dtype=bool)))
    sums = sums_by(dropped, ["source"], "words")
    return {s: {"docs": sums[(s,)][0], "words": sums[(s,)][1]} for (s,) in sorted(sums)}


def cluster_report(
    table: pa.Table, cluster: np.ndarray, drop: np.ndarray, order: np.ndarray | None = None
) -> dict[str, Any]:
    """Cluster sizes, the largest clusters with examples, and removals per source.

    ``cluster`` holds a cluster label per row (-1 or a unique label: a singleton). A cluster's
    kept row shown is its first in ``order`` (row indices; default: table order), which matters
    where a cluster keeps several (``scope: cross_source``). Only the rows shown as examples
    become Python objects: a build's whole text column never does.
    """
    drop = np.asarray(drop, dtype=bool)
    labels, inverse, sizes = np.unique(cluster, return_inverse=True, return_counts=True)
    multi = (sizes >= 2) & (labels >= 0)
    keep = ~drop & multi[inverse]
    kept_rows = order[keep[order]] if order is not None else np.flatnonzero(keep)
    # The first kept row of each cluster with one (np.unique's first index in that order).
    candidates, first = np.unique(inverse[kept_rows], return_index=True)
    kept_of = kept_rows[first]
    ranked = pa.table(
        {"size": pa.array(sizes[candidates]), "id": table["id"].take(pa.array(kept_of))}
    )
    top = pc.sort_indices(ranked, [("size", "descending"), ("id", "ascending")])[:MAX_CLUSTERS]
    largest = []
    for k in top.to_numpy().tolist():
        c = int(candidates[k])
        removed_rows = np.flatnonzero(drop & (inverse == c))
        removed_ids = table["id"].take(pa.array(removed_rows))
        shown = removed_rows[pc.sort_indices(removed_ids).to_numpy()[:MAX_EXAMPLES]]
        kept, *removed = _examples(table, [int(kept_of[k]), *shown.tolist()])
        largest.append({"size": int(sizes[c]), "kept": kept, "removed": removed})
    hist_sizes, hist_counts = np.unique(sizes[multi], return_counts=True)
    by_source = removed_by_source(table, drop)
    return {
        "clusters": int(multi.sum()),
        "docs_in_clusters": int(sizes[multi].sum()),
        "docs_removed": int(drop.sum()),
        "words_removed": sum(row["words"] for row in by_source.values()),
        "removed_by_source": by_source,
        "cluster_sizes": {
            str(size): int(count) for size, count in zip(hist_sizes, hist_counts, strict=True)
        },
        "largest": largest,
    }


def _examples(table: pa.Table, rows: list[int]) -> list[dict[str, str]]:
    picked = table.select(["id", "source", "text"]).take(pa.array(rows, pa.int64())).to_pylist()
    return [{"id": r["id"], "source": r["source"], "text": clip(r["text"])} for r in picked]


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
