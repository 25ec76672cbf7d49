"""read -> min-words filter -> write: corpuskit vs datatrove's LocalPipelineExecutor, same input.

    python benchmarks/build_vs_datatrove.py --words 10000000 --workers 1

The input is BabyLM-style text (one document per line) made by cycling the shared Gutenberg and
Switchboard text to the requested size, written both as .txt and as .jsonl files. datatrove reads
the jsonl (its native format) and writes jsonl; corpuskit reads the .txt (and the .jsonl when a
``jsonl`` source is registered) and writes its Arrow shards. Both use the same worker count and
the same rule (keep documents with >= 3 whitespace words). Each system runs in a fresh process;
peak memory is the RSS of its whole process tree, sampled every 20 ms.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _inputs import REPO, make_input
from _measure import run_measured

CORPUSKIT = """
import corpuskit
recipe = corpuskit.Recipe(
    name="bench", sources=[{{"kind": "{kind}", "paths": ["{pattern}"]{extra}}}],
    filters=[{{"kind": "word_count", "min_words": 3}}], curriculum={{"kind": "input_order"}},
    output={{"keep_rejects": False}},
)
r = corpuskit.build(recipe, out="{out}", workers={workers}, overwrite=True)
print(r.manifest["totals"]["words"])
"""

DATATROVE = """
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.filters import LambdaFilter
from datatrove.pipeline.writers import JsonlWriter
ex = LocalPipelineExecutor(
    pipeline=[JsonlReader("{src}", glob_pattern="*.jsonl"),
              LambdaFilter(lambda doc: len(doc.text.split()) >= 3),
              JsonlWriter("{out}", compression=None)],
    tasks={tasks}, workers={workers}, logging_dir="{logs}", skip_completed=False,
)
ex.run()
print("ok")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--words", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--work", type=Path, default=REPO / ".cache" / "bench_build")
    args = parser.parse_args()
    src = args.work / f"input-{args.words}"
    if not src.exists():
        make_input(src, args.words, args.files, jsonl=True)
    total_in = sum(len(ln.split()) for p in src.glob("*.txt") for ln in p.open())
    rows = []
    from corpuskit.registry import registry, step_kinds

    step_kinds()
    variants = [("corpuskit (text)", "text", "*.txt", ', "unit": "line"')]
    if "jsonl" in registry("sources").names():
        variants.append(("corpuskit (jsonl)", "jsonl", "*.jsonl", ""))
    for label, kind, glob, extra in variants:
        out = args.work / f"out-ck-{kind}"
        code = CORPUSKIT.format(
            kind=kind, pattern=src / glob, extra=extra, out=out, workers=args.workers
        )
        secs, mem, _ = run_measured(code)
        rows.append((label, secs, mem))
    out = args.work / "out-dt"
    shutil.rmtree(out, ignore_errors=True)
    code = DATATROVE.format(
        src=src, out=out, tasks=args.files, workers=args.workers, logs=args.work / "dt-logs"
    )
    secs, mem, _ = run_measured(code)
    rows.append(("datatrove LocalPipelineExecutor (jsonl)", secs, mem))
    base = rows[-1][1]
    print(f"input: {total_in:,} words in {args.files} files; workers={args.workers}\n")
    print("| pipeline | seconds | words/s | peak MiB | speed vs datatrove |")
    print("|---|---:|---:|---:|---:|")
    for label, secs, mem in rows:
        print(
            f"| {label} | {secs:.2f} | {total_in / secs:,.0f} | {mem:,.0f} | {base / secs:.1f}x |"
        )


if __name__ == "__main__":
    main()
