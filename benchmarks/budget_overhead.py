"""What a word budget costs: the same recipe built with and without a budget of 1/10 of the input.

    python benchmarks/budget_overhead.py --words 100000000 --workers 2

The input is BabyLM-style text (one document per line) made by cycling the shared Gutenberg and
Switchboard lines to the requested size, split over two sources (``books``: the first half of the
files, ``talk``: the second half). The recipe reads both, keeps documents of ≥ 3 words and
shuffles (the default curriculum). The budgeted variant adds ``budget: {total: words/10, quotas:
{books: 0.5, talk: 0.5}}``. Each build runs in a fresh process (best of ``--repeats``); the budget's
own ``select`` is timed inside the budgeted build. Two figures answer "what does the budget add":
the time of ``select`` as a share of the unbudgeted build, and the end-to-end ratio (which also
counts the smaller output the budget writes).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _inputs import REPO, make_input
from _measure import run_measured

BUILD = """
import json, time
import corpuskit
from corpuskit.budget import WordBudget
spent = []
select = WordBudget.select
def timed(self, table, ctx):
    start = time.perf_counter()
    out = select(self, table, ctx)
    spent.append(time.perf_counter() - start)
    return out
WordBudget.select = timed
recipe = corpuskit.Recipe.from_dict({{
    "name": "bench-budget",
    "sources": [{{"kind": "text", "name": "books", "paths": {books}}},
                {{"kind": "text", "name": "talk", "paths": {talk}}}],
    "filters": [{{"kind": "word_count", "min_words": 3}}],
    "budget": {budget},
    "output": {{"keep_rejects": False}},
}})
r = corpuskit.build(recipe, out="{out}", workers={workers}, overwrite=True)
print(json.dumps({{"words": r.manifest["totals"]["words"], "select": sum(spent)}}))
"""


def best(code: str, repeats: int) -> tuple[float, dict[str, float]]:
    import json

    runs = []
    for _ in range(repeats):
        secs, _mem, out = run_measured(code)
        runs.append((secs, json.loads(out.strip().splitlines()[-1])))
    return min(runs, key=lambda r: r[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--words", type=int, default=100_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--work", type=Path, default=REPO / ".cache" / "bench_budget")
    args = parser.parse_args()
    src = args.work / f"input-{args.words}"
    if not src.exists():
        make_input(src, args.words, args.files)
    files = sorted(str(p) for p in src.glob("*.txt"))
    half = len(files) // 2
    total = args.words // 10
    budget = {"kind": "words", "total": total, "quotas": {"books": 0.5, "talk": 0.5}}
    rows = []
    for label, spec in (("no budget", None), (f"budget {total:,} (50/50)", budget)):
        code = BUILD.format(
            books=files[:half],
            talk=files[half:],
            budget=repr(spec),
            out=args.work / "out",
            workers=args.workers,
        )
        rows.append((label, *best(code, args.repeats)))
    base = rows[0][1]
    print(f"input: {args.words:,} words in {args.files} files; workers={args.workers}\n")
    print(
        "| build | seconds | output words | budget select (s) | select / unbudgeted build | "
        "build time vs no budget |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, secs, info in rows:
        print(
            f"| {label} | {secs:.1f} | {info['words']:,} | {info['select']:.2f} | "
            f"{info['select'] / base:.1%} | {secs / base:.2f}x |"
        )


if __name__ == "__main__":
    main()
