"""The data card written beside every build: ``DATACARD.md`` and ``waterfall.png``.

Everything on the card comes from the manifest, so a card can be (re)written for any build with
``write_datacard(build_dir, manifest)``. The attrition waterfall starts at the words the sources
read, takes each step's change from the ledger (filters and dedup remove, generators and upsampling
add), and ends at the words in the shards; ``waterfall_rows`` is the one place that computes it, for
the table and the chart alike.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from corpuskit.waterfall_chart import render_waterfall_png

DATACARD = "DATACARD.md"
WATERFALL_PNG = "waterfall.png"


def waterfall_rows(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """[{step, family, words_in, words_out, change}]: input, then every step, then output."""
    ledger = manifest.get("ledger", [])
    sources = [row for row in ledger if row["family"] == "sources"]
    read = sum(row["words_in"] for row in sources)
    rows = [{"step": "read", "family": "sources", "words_in": 0, "words_out": read, "change": read}]
    unreadable = sum(row["words_out"] - row["words_in"] for row in sources)
    current = read + unreadable
    if unreadable:
        rows.append(_row("source rejects", "sources", read, current))
    for row in ledger:
        if row["family"] != "sources":
            rows.append(_row(row["step"], row["family"], row["words_in"], row["words_out"]))
            current = row["words_out"]
    rows.append(_row("output", "shards", current, manifest["totals"]["words"]))
    return rows


def _row(step: str, family: str, words_in: int, words_out: int) -> dict[str, Any]:
    return {
        "step": step,
        "family": family,
        "words_in": words_in,
        "words_out": words_out,
        "change": words_out - words_in,
    }


def _n(value: int) -> str:
    return f"{value:,}"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return [*out, ""]


def _sources(m: dict[str, Any]) -> list[str]:
    total = m["totals"]["words"] or 1
    rows = [
        [
            s["name"],
            s["kind"],
            s["license"],
            "yes" if s.get("non_commercial") else "no",
            _n(s["words_read"]),
            _n(s["words_filtered"]),
            _n(s["words_deduplicated"]),
            _n(s["words_out"]),
            f"{s['words_out'] / total:.2%}",
        ]
        for s in m["sources"]
    ]
    header = ["source", "kind", "license", "non-commercial", "read", "filtered", "deduplicated"]
    out = _table([*header, "out", "share"], rows)
    if m.get("non_commercial_sources"):
        names = ", ".join(m["non_commercial_sources"])
        out += [
            f"**Non-commercial / research-only data:** {names}. This corpus inherits their "
            "terms: do not use it (or models trained on it) commercially.",
            "",
        ]
    return out


def _budget(m: dict[str, Any]) -> list[str]:
    b = m.get("budget") or {}
    if not b:
        return ["No word budget: every document that passed the filters and dedup is kept.", ""]
    out = [
        f"Total {_n(b['total'])} words; selected {_n(b['selected'])} of {_n(b['available'])} "
        f"available. Short policy: `{b.get('on_short')}`; boundary documents cut: "
        f"`{b.get('truncate')}`. Selection: seeded hash order of ids, longest prefix per quota "
        "(nested budgets).",
        "",
    ]
    if b.get("short"):
        out += [
            f"Short of their requested quota: {', '.join(b['short'])} "
            f"(policy `{b.get('on_short')}`).",
            "",
        ]
    groups = b.get("groups", {})
    rows = []
    for key, info in b.get("keys", {}).items():
        cut = info.get("truncated")
        rows.append(
            [
                key,
                ", ".join(groups.get(key, [key])),
                _n(info["requested"]),
                _n(info["quota"]),
                _n(info["available"]),
                _n(info["selected"]),
                f"{info['epochs']:.3f}",
                _n(info["repeated_words"]),
                f"{cut['id']} ({cut['words']} of {cut['of']})" if cut else "-",
            ]
        )
    header = ["quota", "sources", "requested", "quota after policy", "available", "selected"]
    return out + _table([*header, "epochs", "repeated words", "truncated"], rows)


def _steps(m: dict[str, Any], family: str) -> list[str]:
    specs = m["recipe"].get(family) or []
    rows_by_step = [r for r in m.get("ledger", []) if r["family"] == family]
    if not specs:
        return [f"No {family} steps.", ""]
    rows = []
    for spec, row in zip(specs, rows_by_step, strict=False):
        params = {k: v for k, v in spec.items() if k != "kind" and v not in (None, [], {})}
        dropped = "; ".join(
            f"{k}: {v['docs']:,} docs / {v['words']:,} words"
            for k, v in row.get("dropped", {}).items()
        )
        rows.append(
            [
                row["step"],
                f"`{json.dumps(params, sort_keys=True)}`",
                _n(row["words_in"]),
                _n(row["words_out"]),
                dropped or "-",
            ]
        )
    return _table(["step", "parameters", "words in", "words out", "dropped (reason)"], rows)


def render_datacard(manifest: dict[str, Any]) -> str:
    """The Markdown text of a build's data card."""
    m = manifest
    synthetic = m.get("synthetic", {})
    lines = [
        f"# Data card: {m['name']} ({m['recipe_hash']})",
        "",
        f"{m['recipe'].get('description') or 'No description.'}",
        "",
        f"Built {m.get('built_at', '?')} by corpuskit {m['corpuskit_version']} (shard format "
        f"{m['format_version']}), recipe version {m['recipe'].get('version')}, seed {m['seed']}.",
        "",
        "## Summary",
        "",
        f"{_n(m['totals']['docs'])} documents, {_n(m['totals']['words'])} words "
        "(whitespace-separated, the BabyLM rule) in "
        f"{len(m['shards'])} shard(s) and {len(m.get('stages', []))} stage(s). Synthetic "
        f"(generated) text: {_n(synthetic.get('words', 0))} words, "
        f"{synthetic.get('share', 0):.2%} of the output.",
        "",
        "## Sources and licenses",
        "",
        *_sources(m),
        "## Budget",
        "",
        *_budget(m),
        "## Filters",
        "",
        *_steps(m, "filters"),
        "## Generators",
        "",
        *_steps(m, "generators"),
        "## Dedup and decontamination",
        "",
        *_steps(m, "dedup"),
        "## Curriculum",
        "",
        f"Kind `{m['recipe']['curriculum']['kind']}`; stages are trained in this order.",
        "",
        *_table(
            ["stage", "documents", "words", "shards"],
            [
                [s["name"], _n(s["rows"]), _n(s["words"]), len(s["shards"])]
                for s in m.get("stages", [])
            ],
        ),
        "## Attrition waterfall",
        "",
        *_table(
            ["step", "family", "words in", "words out", "change"],
            [
                [r["step"], r["family"], _n(r["words_in"]), _n(r["words_out"]), f"{r['change']:+,}"]
                for r in waterfall_rows(m)
            ],
        ),
        f"![attrition waterfall]({WATERFALL_PNG})",
        "",
        "## Recipe",
        "",
        "```yaml",
        yaml.safe_dump(m["recipe"], sort_keys=False, allow_unicode=True).rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def write_datacard(directory: str | Path, manifest: dict[str, Any]) -> Path:
    """Write ``DATACARD.md`` and ``waterfall.png`` into a build directory; return the card."""
    directory = Path(directory)
    title = f"{manifest['name']} {manifest['recipe_hash']}: attrition by step"
    render_waterfall_png(waterfall_rows(manifest), title, directory / WATERFALL_PNG)
    card = directory / DATACARD
    card.write_text(render_datacard(manifest), encoding="utf-8")
    return card
