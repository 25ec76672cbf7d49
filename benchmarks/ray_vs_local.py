"""Build throughput (words/s) of the Ray executor next to the local executor on the same recipe.

    python benchmarks/ray_vs_local.py --files 8 --lines 40000

The input is ``--files`` text files made in a temporary folder by cycling the lines of the shared
Gutenberg and WikiText files; the recipe reads them (one task per file) and runs
``normalize_whitespace``, ``word_count`` and ``gopher_repetition`` (a per-document Python filter, so
stage 1 does real CPU work), with no budget; ``--minhash`` adds a MinHash dedup step (whose
signatures the Ray executor computes on Ray Data in stage 2). Each configuration runs in a fresh
subprocess:

- ``local wN``: the local executor with N fork workers;
- ``ray cN``: the Ray executor (Ray Data engine) on a local Ray instance started with
  ``num_cpus=N`` (the simulated scale-out: on a bigger box throughput follows the CPUs Ray may use);
- ``raytasks cN``: the same with ``engine="tasks"`` (one ``ray.remote`` task per partition).

Columns: ``init`` is ``ray.init()`` (paid once per driver process), ``stage 1`` is from the first
task submitted to the last task finished (progress hooks), ``total`` is the whole ``build()``
call (stage 1 + dedup/budget/curriculum + shard writing in the driver, the serial part).
words/s is the words read divided by ``total``. ``warm`` is a second build of the same recipe in
the same driver process into a fresh folder (Ray's worker processes already started and
imported). The shard sha256 values of every run are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
DATA = Path(os.environ.get("CORPUSKIT_DATA", REPO.parent / "shared" / "data"))

from _measure import run_measured  # noqa: E402

RUN = """
import hashlib, json, sys, time
from pathlib import Path
from corpuskit import Recipe, build
recipe = Recipe.from_dict({recipe!r})
executor, n, options = {executor!r}, {n}, {options!r}
init = 0.0
if executor == "ray":
    import ray
    t = time.perf_counter()
    ray.init(num_cpus=n, object_store_memory=100 * 2**20, include_dashboard=False)
    init = time.perf_counter() - t

class Progress:
    def start(self, tasks):
        self.t0 = time.perf_counter()
    def advance(self, result):
        self.t1 = time.perf_counter()

progress = Progress()
t = time.perf_counter()
result = build(
    recipe, out={out!r}, executor=executor, workers=n, progress=progress, executor_options=options
)
total = time.perf_counter() - t
t = time.perf_counter()  # again in this driver: Ray's workers are up and warm
build(recipe, out={out!r} + "-warm", executor=executor, workers=n, executor_options=options)
warm = time.perf_counter() - t
hashes = [s["sha256"] for s in result.manifest["shards"]]
words = result.manifest["ledger"][0]["words_out"]
print(json.dumps({{"init": init, "stage1": progress.t1 - progress.t0, "total": total, "warm": warm,
                  "words": words, "hashes": hashes}}))
"""


def make_inputs(folder: Path, files: int, lines: int) -> None:
    pool: list[str] = []
    for path in sorted((DATA / "gutenberg").glob("*.txt")) + sorted(
        (DATA / "wikipedia").glob("*.txt")
    ):
        pool += [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    for index in range(files):
        rows = [pool[(index * lines + i) % len(pool)] for i in range(lines)]
        (folder / f"part{index:03d}.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")


def recipe_for(folder: Path, minhash: bool = False) -> dict[str, object]:
    dedup = [{"kind": "minhash", "threshold": 0.8}] if minhash else []
    return {
        "name": "ray-bench",
        "seed": 0,
        "sources": [{"kind": "text", "name": "mix", "paths": [str(folder / "*.txt")]}],
        "filters": [
            {"kind": "normalize_whitespace"},
            {"kind": "word_count", "min_words": 3},
            {"kind": "gopher_repetition"},
        ],
        "dedup": dedup,
        "output": {"shard_words": 500_000},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--lines", type=int, default=40_000)
    parser.add_argument("--configs", default="local:1,local:2,ray:1,ray:2,raytasks:2")
    parser.add_argument(
        "--minhash", action="store_true", help="add a minhash dedup step (stage 2 on Ray)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        make_inputs(corpus, args.files, args.lines)
        recipe = recipe_for(corpus, args.minhash)
        rows, hashes = [], set()
        for position, config in enumerate(args.configs.split(",")):
            kind, n = config.split(":")
            executor = "local" if kind == "local" else "ray"
            options = {"engine": "tasks"} if kind == "raytasks" else {}
            out = str(Path(tmp) / f"out-{position}")  # fresh per run: no cached build
            code = RUN.format(recipe=recipe, executor=executor, n=int(n), out=out, options=options)
            _, peak, stdout = run_measured(code)
            report = json.loads(stdout.strip().splitlines()[-1])
            hashes.add(tuple(report["hashes"]))
            rows.append((f"{kind} {'w' if kind == 'local' else 'c'}{n}", report, peak))
    base = rows[0][1]["words"] / rows[0][1]["total"]
    print(f"{args.files} files x {args.lines} lines, {rows[0][1]['words']:,} words read")
    print(
        f"{'config':<13}{'init s':>8}{'stage 1 s':>11}{'total s':>9}{'words/s':>12}"
        f"{'vs ' + rows[0][0]:>12}{'warm s':>8}{'warm words/s':>14}{'peak MiB':>10}"
    )
    for name, report, peak in rows:
        rate = report["words"] / report["total"]
        print(
            f"{name:<13}{report['init']:>8.2f}{report['stage1']:>11.2f}{report['total']:>9.2f}"
            f"{rate:>12,.0f}{rate / base:>11.2f}x{report['warm']:>8.2f}"
            f"{report['words'] / report['warm']:>14,.0f}{peak:>10.0f}"
        )
    print("identical shards across runs:", len(hashes) == 1)


if __name__ == "__main__":
    main()
