"""Fine-tuning wall time of one GLUE task on a tiny random model (the evaluator's own loop).

    python benchmarks/finetune_speed.py                        # CPU: RTE, 2 epochs, tiny BERT
    python benchmarks/finetune_speed.py --set group_by_length=true
    python benchmarks/finetune_speed.py --device cuda --epochs 10   # GPU: bf16, grouped batches

The model is the evaluator tests' tiny BERT (masked, right padded, like LTG-BERT); its weights do
not change the cost. ``--set key=value`` passes FinetuneSettings fields (YAML values).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from _inputs import DATA, key_values
from pydantic import ValidationError

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# The evaluator tests' model maker: one definition of "a tiny random model".
from tests.evaluate.helpers import blimp_subset, save_tiny_bert  # noqa: E402
from trainers.evaluate.finetune import FINETUNE_TASKS, FinetuneSettings, finetune_task  # noqa: E402
from trainers.evaluate.models import load_scoring_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="rte", choices=sorted(FINETUNE_TASKS))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the table shows min, median")
    parser.add_argument("--set", nargs="*", default=[], dest="overrides")
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    extra = key_values(opts.overrides, "--set")
    # The tiny BERT has 128 positions: max_length 128 keeps every example inside them.
    try:
        settings = FinetuneSettings(epochs=opts.epochs, max_length=128, **extra)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SystemExit(f"--set: {problems}") from None
    texts = [r["sentence_good"] for r in blimp_subset(DATA)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = save_tiny_bert(Path(tmp), texts, hidden=64, heads=2, intermediate=256)
        model = load_scoring_model(folder).to(opts.device)
        seconds = []
        for _ in range(opts.repeat):  # the cores are shared: the minimum is the least disturbed
            start = time.perf_counter()
            result = finetune_task(model, FINETUNE_TASKS[opts.task], DATA, settings)
            seconds.append(time.perf_counter() - start)
    print("| task | device | epochs | settings | s (min) | s (median) | score | best epoch |")
    print("|---|---|---:|---|---:|---:|---:|---:|")
    print(
        f"| {opts.task} | {opts.device} | {opts.epochs} | {' '.join(opts.overrides) or '-'} "
        f"| {min(seconds):.1f} | {statistics.median(seconds):.1f} | {result.score:.4f} "
        f"| {result.extra['best_epoch']:.0f} |"
    )


if __name__ == "__main__":
    main()
