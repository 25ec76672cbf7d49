"""Strict-small wall clock: build 10M words → tokenizer → 10 epochs of training → BLiMP.

    python benchmarks/strict_small.py                                  # GPU: the real thing
    python benchmarks/strict_small.py --words 200000 --set max_steps=20 \\
        --config tiny.yaml --blimp-limit 10                            # CPU smoke run

The input is BabyLM-style text cycled from the shared data (Gutenberg lines + Switchboard
utterances, `benchmarks/_inputs.py`): what the model learns from repeated text does not matter
here, only how long each stage takes at the strict-small size. Each stage runs once, in order,
through the public API (``Recipe.build`` → ``trainers.train.train`` →
``trainers.evaluate.evaluate``), and the table splits the training call into the tokenizer and
token-file preparation, the compiled training steps, and the rest (validation, checkpoints,
export). Target (issue #9): the whole training in ≤ 10 minutes on one H100.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from _inputs import DATA, make_input

import corpuskit
from trainers.config import TrainConfig
from trainers.evaluate import EvalSettings, evaluate
from trainers.train import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--words", type=int, default=10_000_000)
    parser.add_argument("--config", default="babylm-small.yaml")
    parser.add_argument("--set", nargs="*", default=[], dest="overrides")
    parser.add_argument("--blimp-limit", type=int, default=None, help="pairs per paradigm")
    parser.add_argument("--workers", type=int, default=None, help="build processes")
    parser.add_argument("--keep", type=Path, default=None, help="keep the run folder here")
    opts = parser.parse_args()
    name = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    print(f"device: {name}; torch {torch.__version__}", file=sys.stderr)
    # Rows print as each stage ends (flushed): a run cut short still leaves its figures.
    print(f"| stage | seconds | notes |  device: {name}", flush=True)
    print("|---|---:|---|", flush=True)

    def emit(stage: str, seconds: float, note: str) -> None:
        print(f"| {stage} | {seconds:,.1f} | {note} |", flush=True)

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = opts.keep or Path(tmp_name)
        source = tmp / "input"
        start = time.perf_counter()
        make_input(source, opts.words, files=16)
        recipe = corpuskit.Recipe(
            name="strict-small-timing",
            sources=[corpuskit.TextSource(name="babylm", paths=["*.txt"], unit="line")],
            budget=corpuskit.WordBudget(total=opts.words),
        )
        emit("make input text", time.perf_counter() - start, f"{opts.words:,} words")
        start = time.perf_counter()
        built = recipe.build(out=tmp / "out", data_root=source, workers=opts.workers)
        words = corpuskit.open_build(built.path).manifest["totals"]["words"]
        emit("corpuskit build", time.perf_counter() - start, f"{words:,} words")
        config = TrainConfig.load(opts.config, ["quiet=true", *opts.overrides])
        start = time.perf_counter()
        run = train(built.path, config, tmp / "runs")
        total = time.perf_counter() - start
        metrics = json.loads((run / "metrics.json").read_text())
        steps_s = metrics["train_seconds"]
        tokens = metrics["tokens"]
        emit(
            "train (whole call)",
            total,
            f"{metrics['steps']:,} steps, {tokens:,} tokens, {config.epochs} epochs",
        )
        emit(
            "  of which timed steps",
            steps_s,
            f"{metrics['tokens_per_s']:,.0f} tokens/s, MFU "
            + (f"{metrics['mfu']:.1%}" if metrics.get("mfu") else "n/a"),
        )
        emit("  of which the rest", total - steps_s, "tokenizer, token file, compile, val, export")
        start = time.perf_counter()
        report = evaluate(
            run / "model",
            ["blimp"],
            data_root=DATA,
            settings=EvalSettings(limit=opts.blimp_limit),
        )
        result = report.results[0]
        emit(
            "BLiMP",
            time.perf_counter() - start,
            f"{result.n:,} pairs, accuracy {result.score:.3f}, val loss "
            f"{metrics.get('val_loss', float('nan')):.3f}",
        )


if __name__ == "__main__":
    main()
