"""A self-contained HTML report of the leaderboard: tables plus base64-embedded matplotlib PNGs.

The tables are rendered from the same :class:`~trainers.leaderboard.Leaderboard` queries that
``corpuskit leaderboard`` prints, so the page and the database cannot disagree. A few lines of
inline script mark each image once the browser has decoded it (``data-rendered``), which is what
the headless-browser test reads back.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from trainers.evaluate.runner import EVAL_VERSION
from trainers.leaderboard import Leaderboard, Row, Summary

PHENOMENON_GROUPS = ("linguistics_term", "field")  # BLiMP breakdowns, preferred first

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0 2em; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th { background: #f0f0f0; } td.name, th.name { text-align: left; }
img { display: block; max-width: 100%; margin: 1em 0; border: 1px solid #eee; }
"""
SCRIPT = """
window.addEventListener("load", () => {
  let ok = 0;
  for (const img of document.images) {
    const good = img.complete && img.naturalWidth > 0;
    img.dataset.rendered = good ? "yes" : "no";
    if (good) ok += 1;
  }
  document.body.dataset.imagesOk = String(ok);
  document.body.dataset.imagesTotal = String(document.images.length);
});
"""


def pct(value: float) -> str:
    return f"{100 * value:.1f}"


def pct_pm(mean: float, std: float, seeds: int) -> str:
    """Mean ± sample std; one seed has no spread to show (not a spread of zero)."""
    return f"{100 * mean:.1f} ± {100 * std:.1f}" if seeds > 1 else pct(mean)


def summary_table(summaries: Sequence[Summary]) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the mean ± std table (shared by the CLI and the HTML page)."""
    tasks = sorted({t for s in summaries for t in s.tasks})
    header = ["recipe", "recipe hash", "train hash", "eval", "seeds", *tasks, "macro"]
    cells = []
    for s in summaries:
        values = [pct_pm(*s.tasks[t]) if t in s.tasks else "–" for t in tasks]
        macro = pct_pm(*s.macro, len(s.seeds)) if s.macro else "–"
        seeds = ",".join(str(x) for x in s.seeds)
        cells.append(
            [s.recipe_name, s.recipe_hash, s.train_hash, s.eval_version, seeds, *values, macro]
        )
    return header, cells


def rows_table(rows: Sequence[Row]) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the per-seed table; ties in parentheses where there were any."""
    tasks = sorted({t for r in rows for t in r.scores})
    header = ["recipe", "recipe hash", "train hash", "eval", "seed", *tasks, "macro"]
    cells = []
    for r in rows:
        values = []
        for t in tasks:
            if t not in r.scores:
                values.append("–")
                continue
            ties = r.ties.get(t, 0)
            values.append(pct(r.scores[t]) + (f" ({ties} ties)" if ties else ""))
        macro = pct(r.macro) if r.macro is not None else "–"
        k = r.key
        cells.append(
            [
                r.recipe_name,
                k.recipe_hash,
                k.train_hash,
                k.eval_version,
                str(k.seed),
                *values,
                macro,
            ]
        )
    return header, cells


def _html_table(table_id: str, header: list[str], cells: list[list[str]]) -> str:
    head = "".join(
        f'<th class="name">{html.escape(h)}</th>' if i == 0 else f"<th>{html.escape(h)}</th>"
        for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="name">{html.escape(c)}</td>' if i == 0 else f"<td>{html.escape(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in cells
    )
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _png(fig: object) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")  # type: ignore[attr-defined]
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def comparison_plot(summaries: Sequence[Summary]) -> str | None:
    """Grouped bars: every task (and the macro average) per recipe, with ± std error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    tasks = sorted({t for s in summaries for t in s.tasks})
    if not tasks:
        return None
    columns = [*tasks, "macro"]
    width = 0.8 / max(len(summaries), 1)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(columns) * max(1, len(summaries)) / 2), 4))
    x = np.arange(len(columns))
    for i, s in enumerate(summaries):
        stats = [s.tasks.get(t, (np.nan, 0.0, 0))[:2] for t in tasks] + [s.macro or (np.nan, 0.0)]
        means = [100 * m for m, _ in stats]
        stds = [100 * sd for _, sd in stats]
        ax.bar(x + i * width, means, width, yerr=stds, capsize=3, label=s.label)
    ax.set_xticks(x + width * (len(summaries) - 1) / 2, columns, rotation=20)
    ax.set_ylabel("score (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Recipe comparison (mean ± std over seeds)")
    ax.legend(fontsize=8)
    data = _png(fig)
    plt.close(fig)
    return data


def phenomenon_plot(label: str, scores: dict[str, float], grp: str) -> str:
    """Horizontal bars: BLiMP accuracy per phenomenon for one recipe."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(scores)
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(names) + 1.2))
    ax.barh(names, [100 * scores[n] for n in names], color="#4c72b0")
    ax.axvline(50, color="#999", linestyle="--", linewidth=1)  # chance for a two-way choice
    ax.set_xlim(0, 100)
    ax.set_xlabel("accuracy (%)")
    ax.set_title(f"BLiMP by {grp}: {label}", fontsize=10)
    data = _png(fig)
    plt.close(fig)
    return data


def render_report(board: Leaderboard, out: str | Path) -> Path:
    """Write the report page to ``out`` and return its path."""
    summaries, rows = board.summaries(), board.rows()
    parts = [
        "<h1>corpuskit leaderboard</h1>",
        f"<p>{html.escape(str(board.path))} · generated "
        f"{datetime.now(UTC).isoformat(timespec='seconds')} · current protocol EVAL_VERSION "
        f"{EVAL_VERSION} · scores in % · ties count as errors</p>",
        "<h2>Mean ± std over seeds</h2>",
        _html_table("summary", *summary_table(summaries)),
        "<h2>Rows (one per seed)</h2>",
        _html_table("rows", *rows_table(rows)),
        "<h2>Plots</h2>",
    ]
    comparison = comparison_plot(summaries)
    if comparison:
        parts.append(_img(comparison, "comparison", "recipe comparison"))
    for grp in PHENOMENON_GROUPS:
        per_recipe = board.group_scores("blimp", grp)
        if per_recipe:
            for label, scores in per_recipe.items():
                parts.append(_img(phenomenon_plot(label, scores, grp), "blimp", f"BLiMP {label}"))
            break
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>corpuskit leaderboard</title><style>{STYLE}</style>"
        f"<script>{SCRIPT}</script></head><body>{''.join(parts)}</body></html>\n"
    )
    path = Path(out)
    path.write_text(page, encoding="utf-8")
    return path


def _img(data: str, kind: str, alt: str) -> str:
    return f'<img data-plot="{kind}" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
