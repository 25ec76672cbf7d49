"""BLiMP minimal-pair throughput: corpuskit's scorer vs minicons on the same model, same run.

Builds a small random GPT-2 (causal) or BERT (masked PLL) with a tokenizer trained on the BLiMP
sentences themselves (weights do not change the cost), scores the same pairs with both, checks
that their per-pair verdicts agree, and prints pairs/s and the ratio.

``--compute tf32|bf16`` runs our scorer's forward pass in that precision and adds a row for our
fp32 run, the line "precision cost" (max |Δ| of our per-sentence scores from our fp32 ones and the
pair verdicts that flip). ``--minicons-compute fp32 tf32`` times minicons at its default and under
the same global TF32 matmul setting, so ours and theirs compare at equal matmul precision too.
"agree" always means: the same per-pair verdicts as our fp32 run (the protocol's reference).

    python benchmarks/blimp_throughput.py                           # CPU, tiny, 1,000 pairs
    python benchmarks/blimp_throughput.py --objective masked
    python benchmarks/blimp_throughput.py --objective masked --compute bf16
    python benchmarks/blimp_throughput.py --objective masked --arch ltgbert  # our LTG-BERT
    # GPU (H100 figures in docs/benchmarks.md): full BLiMP, a ~30M model
    python benchmarks/blimp_throughput.py --device cuda --size 30m --pairs 67000 --minicons-batch 64
    python benchmarks/blimp_throughput.py --device cuda --size 30m --pairs 67000 --objective masked
    # the same at TF32 (bf16 likewise), minicons at its default and at TF32:
    python benchmarks/blimp_throughput.py --device cuda --size 30m --pairs 6700 --objective masked --minicons-batch 64 --compute tf32 --minicons-compute fp32 tf32
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# The evaluator tests' model makers, at benchmark sizes: one definition of "a tiny random model".
from tests.evaluate.helpers import (  # noqa: E402
    blimp_subset,
    save_tiny_bert,
    save_tiny_gpt2,
    save_trainer_export,
)
from trainers.evaluate.compute import COMPUTE, forward_precision  # noqa: E402
from trainers.evaluate.scorer import PairScores  # noqa: E402

SIZES = {"tiny": (2, 64, 2), "30m": (8, 512, 8)}  # layers, hidden, heads


def blimp_pairs(root: Path, n: int) -> list[dict]:
    """The first ceil(n / 67) pairs of every paradigm, cut at ``n``."""
    paradigms = len(list((root / "blimp").glob("*.jsonl.gz")))
    if not paradigms:
        raise SystemExit(
            f"no BLiMP files in {root / 'blimp'} (pass --data-root or set CORPUSKIT_DATA)"
        )
    return blimp_subset(root, per_paradigm=-(-n // paradigms), total=n)


def make_model(folder: Path, objective: str, size: str, texts: list[str], arch: str) -> None:
    layers, hidden, heads = SIZES[size]
    vocab = 16384 if size == "30m" else 2048
    shape = {"vocab_size": vocab, "layers": layers, "hidden": hidden, "heads": heads}
    if arch != "hf":
        save_trainer_model(folder, arch, texts, **shape)
    elif objective == "causal":
        save_tiny_gpt2(folder, texts, **shape)
    else:
        save_tiny_bert(folder, texts, intermediate=4 * hidden, **shape)
    from trainers.evaluate.models import load_scoring_model

    model = load_scoring_model(folder)
    params = sum(p.numel() for p in model.module.parameters())
    print(f"model: {objective} {size}, {params / 1e6:.1f}M params, vocab {len(model.tokenizer)}")


def save_trainer_model(
    folder: Path, arch: str, texts: list[str], vocab_size: int, layers: int, hidden: int, heads: int
) -> None:
    """Our own encoder, exported as training would (minicons loads it through its saved code)."""
    shape = {"layers": layers, "hidden": hidden, "heads": heads, "block_size": 128}
    # GEGLU with d_ff = 8·hidden/3 has ≈ the parameters of a 4·hidden GELU FFN.
    save_trainer_export(folder, arch, texts, vocab_size=vocab_size, d_ff=8 * hidden // 3, **shape)


def run_ours(
    folder: Path, good: list[str], bad: list[str], device: str, compute: str, equal_length: bool
) -> tuple[float, PairScores]:
    from trainers.evaluate.models import load_scoring_model
    from trainers.evaluate.scorer import MinimalPairScorer

    model = load_scoring_model(folder).to(device)
    scorer = MinimalPairScorer(model, compute=compute, equal_length=equal_length)  # type: ignore[arg-type]
    scorer.score_pairs(good[:50], bad[:50])  # warm-up
    _sync(device)
    start = time.perf_counter()
    scores = scorer.score_pairs(good, bad)
    _sync(device)
    return time.perf_counter() - start, scores


def run_minicons(
    folder: Path,
    objective: str,
    good: list[str],
    bad: list[str],
    device: str,
    batch: int,
    compute: str,
) -> tuple[float, np.ndarray]:
    with forward_precision(compute, torch.device(device)):  # type: ignore[arg-type]
        return _time_minicons(folder, objective, good, bad, device, batch)


def _time_minicons(
    folder: Path, objective: str, good: list[str], bad: list[str], device: str, batch: int
) -> tuple[float, np.ndarray]:
    from minicons import scorer
    from transformers import AutoTokenizer

    if objective == "causal":
        peer = scorer.IncrementalLMScorer(str(folder), device)
        kw: dict = {"bos_token": True}
    else:
        # Our encoder exports carry their model code (auto_map); HF's BERT ignores the flag.
        tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
        tok.batch_encode_plus = tok.__call__  # minicons 0.3.39 vs transformers 5 (same call)
        peer = scorer.MaskedLMScorer(str(folder), device, tokenizer=tok, trust_remote_code=True)
        kw = {}

    def total(x: torch.Tensor) -> float:
        return x.sum(0).item()

    peer.sequence_score(good[:4], reduction=total, **kw)  # warm-up
    _sync(device)
    start = time.perf_counter()
    g = [
        s
        for i in range(0, len(good), batch)
        for s in peer.sequence_score(good[i : i + batch], reduction=total, **kw)
    ]
    b = [
        s
        for i in range(0, len(bad), batch)
        for s in peer.sequence_score(bad[i : i + batch], reduction=total, **kw)
    ]
    _sync(device)
    return time.perf_counter() - start, np.array(g) > np.array(b)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objective", choices=["causal", "masked"], default="causal")
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument(
        "--arch",
        choices=["hf", "ltgbert", "gptbert"],
        default="hf",
        help="hf: GPT-2 / BERT; ltgbert, gptbert: our encoders, masked reading (PLL / mntp)",
    )
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--minicons-batch", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--compute", choices=COMPUTE, default="fp32", help="our forward pass")
    parser.add_argument(
        "--minicons-compute",
        choices=["fp32", "tf32"],
        nargs="+",
        default=["fp32"],
        help="minicons under torch's default matmul precision and/or the global TF32 setting",
    )
    parser.add_argument(
        "--equal-length", action="store_true", help="our scorer: batches without padding"
    )
    parser.add_argument(
        "--data-root", type=Path, default=Path(os.environ.get("CORPUSKIT_DATA", "../shared/data"))
    )
    args = parser.parse_args()
    if args.arch != "hf" and args.objective != "masked":
        parser.error(f"--arch {args.arch} is scored by its masked reading: add --objective masked")
    torch.set_num_threads(args.threads)
    records = blimp_pairs(args.data_root, args.pairs)
    good, bad = [r["sentence_good"] for r in records], [r["sentence_bad"] for r in records]
    with tempfile.TemporaryDirectory() as tmp:
        make_model(Path(tmp), args.objective, args.size, good + bad, args.arch)
        ours = exact = run_ours(Path(tmp), good, bad, args.device, args.compute, args.equal_length)
        rows = [("corpuskit", args.compute, "auto", ours[0], ours[1].correct)]
        if args.compute != "fp32":  # the reference: our fp32 scores, for "agree" and the cost
            exact = run_ours(Path(tmp), good, bad, args.device, "fp32", args.equal_length)
            rows.append(("corpuskit", "fp32", "auto", exact[0], exact[1].correct))
        for compute in args.minicons_compute:
            for batch in args.minicons_batch:
                secs, ok = run_minicons(
                    Path(tmp), args.objective, good, bad, args.device, batch, compute
                )
                rows.append(("minicons", compute, str(batch), secs, ok))
    print(
        f"{len(good)} pairs, {args.objective}, {args.arch} {args.size}, device {args.device}, "
        f"{args.threads} thread(s), corpuskit compute {args.compute}"
        + (", equal-length batches" if args.equal_length else "")
    )
    if args.compute != "fp32":
        print(precision_cost(args.compute, ours[1], exact[1]))
    print("agree: same per-pair verdicts as corpuskit fp32; corpuskit x: seconds / corpuskit's")
    header = f"{'scorer':<10} {'compute':>7} {'batch':>6} {'seconds':>9} {'pairs/s':>9}"
    print(f"{header} {'accuracy':>9} {'agree':>6} {'corpuskit x':>12}")
    for name, compute, batch, secs, ok in rows:
        agree = "yes" if (ok == exact[1].correct).all() else "NO"
        cells = f"{name:<10} {compute:>7} {batch:>6} {secs:>9.2f} {len(good) / secs:>9.1f}"
        print(f"{cells} {ok.mean():>9.3f} {agree:>6} {secs / ours[0]:>12.1f}")


def precision_cost(compute: str, fast: PairScores, exact: PairScores) -> str:
    """How far ``compute`` moved our scores from fp32: per sentence, and in pair verdicts."""
    delta = np.abs(np.r_[fast.good, fast.bad] - np.r_[exact.good, exact.bad])
    flips = int((fast.correct != exact.correct).sum())
    return (
        f"precision cost ({compute} vs fp32, ours): max |Δ sentence score| {delta.max():.2e} nats, "
        f"{flips} of {len(fast.good)} pair verdicts flip, ties {int(exact.ties.sum())} → "
        f"{int(fast.ties.sum())}"
    )


if __name__ == "__main__":
    main()
