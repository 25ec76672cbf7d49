"""Peak memory and time of whole-corpus dedup steps inside a real build, against the no-dedup floor.

    python benchmarks/dedup_memory.py --words 10000000 --steps none exact minhash
    python benchmarks/dedup_memory.py --words 10000000 --tree /tmp/before --tree .   # two versions

The input cycles the shared Gutenberg and Switchboard lines (``_inputs.make_input``), read by a
``text`` source one document per line: about 1.36M documents per 10M words, most of them repeats
of another line (the shared data holds ≈ 2.5M words), so a dedup step sees many duplicates and,
for ``minhash``, many LSH candidates: a hard case for memory. The recipe is ``word_count`` ≥ 3 →
the dedup step(s) → ``input_order``, rejects shard kept, one worker. Each (tree, step) builds in a
fresh process; the peak is the RSS of the process tree sampled every 20 ms
(``_measure.run_measured``). ``none`` is the floor: the same build without a dedup step, so
"peak - floor" is what the step itself costs. ``--tree`` runs the same builds with another checkout
of corpuskit on ``PYTHONPATH`` (e.g. a ``git worktree`` of an older commit), in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _inputs import REPO, make_input
from _measure import run_measured

STEPS = {
    "none": [],
    "exact": [{"kind": "exact"}],
    "minhash": [{"kind": "minhash"}],
    "exact+minhash": [{"kind": "exact"}, {"kind": "minhash"}],
    "sentences": [{"kind": "sentences"}],
}

BUILD = """
import json, corpuskit
recipe = corpuskit.Recipe.from_dict({{
    "name": "bench-dedup-memory",
    "sources": [{{"kind": "text", "name": "lines", "paths": {paths}}}],
    "filters": [{{"kind": "word_count", "min_words": 3}}],
    "dedup": {dedup},
    "curriculum": {{"kind": "input_order"}},
}})
r = corpuskit.build(recipe, out="{out}", workers=1, overwrite=True)
print(json.dumps({{"words": r.manifest["totals"]["words"], "docs": r.manifest["totals"]["docs"]}}))
"""


def measure(tree: Path, step: str, paths: list[str], out: Path) -> dict[str, float]:
    code = BUILD.format(paths=json.dumps(paths), dedup=json.dumps(STEPS[step]), out=out)
    env = {**os.environ, "PYTHONPATH": str(tree.resolve())}
    seconds, peak, stdout = run_measured(code, env=env, cwd=str(out.parent))
    return {"seconds": seconds, "peak": peak, **json.loads(stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--words", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--steps", nargs="+", default=["none", "exact", "minhash"], choices=STEPS)
    parser.add_argument("--tree", action="append", type=Path, help="checkout(s) to compare")
    args = parser.parse_args()
    trees = args.tree or [REPO]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        words = make_input(folder / "in", args.words, args.files)
        paths = sorted(str(p) for p in (folder / "in").glob("*.txt"))
        print(f"input: {words:,} words in {len(paths)} files, one document per line")
        print("\n| tree | dedup | seconds | peak MiB | peak - floor | docs out | words out |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for tree in trees:
            floor = None
            for step in args.steps:
                r = measure(tree, step, paths, folder / "out")
                if step == "none":
                    floor = r["peak"]
                extra = f"{r['peak'] - floor:,.0f}" if floor is not None else "–"
                print(
                    f"| {tree} | {step} | {r['seconds']:.1f} | {r['peak']:,.0f} | {extra} | "
                    f"{int(r['docs']):,} | {int(r['words']):,} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
