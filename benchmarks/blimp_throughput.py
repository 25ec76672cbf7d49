"""BLiMP minimal-pair throughput: corpuskit's scorer vs minicons on the same model, same run.

Builds a small random GPT-2 (causal) or BERT (masked PLL) with a tokenizer trained on the BLiMP
sentences themselves (weights do not change the cost), scores the same pairs with both, checks
that their accuracies agree, and prints pairs/s and the ratio.

    python benchmarks/blimp_throughput.py                           # CPU, tiny, 1,000 pairs
    python benchmarks/blimp_throughput.py --objective masked
    # GPU (not measured in this repository yet): full BLiMP, a ~30M model
    python benchmarks/blimp_throughput.py --device cuda --size 30m --pairs 67000 --minicons-batch 64
    python benchmarks/blimp_throughput.py --device cuda --size 30m --pairs 67000 --objective masked
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

SIZES = {"tiny": (2, 64, 2), "30m": (8, 512, 8)}  # layers, hidden, heads


def blimp_pairs(root: Path, n: int) -> list[dict]:
    files = sorted((root / "blimp").glob("*.jsonl.gz"))
    per = -(-n // len(files))
    out: list[dict] = []
    for path in files:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            out.extend(json.loads(line) for _, line in zip(range(per), handle, strict=False))
    return out[:n]


def make_model(folder: Path, objective: str, size: str, texts: list[str]) -> None:
    from transformers import (
        BertConfig,
        BertForMaskedLM,
        BertTokenizerFast,
        GPT2Config,
        GPT2LMHeadModel,
        GPT2TokenizerFast,
    )

    layers, hidden, heads = SIZES[size]
    vocab = 16384 if size == "30m" else 2048
    torch.manual_seed(0)
    if objective == "causal":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        tok.train_from_iterator(
            texts,
            trainers.BpeTrainer(
                vocab_size=vocab,
                special_tokens=["<|endoftext|>"],
                show_progress=False,
                initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            ),
        )
        eot = "<|endoftext|>"
        hf = GPT2TokenizerFast(tokenizer_object=tok, bos_token=eot, eos_token=eot, unk_token=eot)
        config = GPT2Config(
            vocab_size=len(hf),
            n_positions=128,
            n_embd=hidden,
            n_layer=layers,
            n_head=heads,
            bos_token_id=0,
            eos_token_id=0,
        )
        model = GPT2LMHeadModel(config)
    else:
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        tok.train_from_iterator(
            texts,
            trainers.WordPieceTrainer(
                vocab_size=vocab, special_tokens=specials, show_progress=False
            ),
        )
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
        )
        hf = BertTokenizerFast(
            tokenizer_object=tok,
            unk_token="[UNK]",
            pad_token="[PAD]",
            cls_token="[CLS]",
            sep_token="[SEP]",
            mask_token="[MASK]",
        )
        config = BertConfig(
            vocab_size=len(hf),
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=4 * hidden,
            max_position_embeddings=128,
        )
        model = BertForMaskedLM(config)
    model.eval().save_pretrained(folder)
    hf.save_pretrained(folder)
    print(
        f"model: {objective} {size}, {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M params, vocab {len(hf)}"
    )


def run_ours(
    folder: Path, good: list[str], bad: list[str], device: str
) -> tuple[float, np.ndarray]:
    from trainers.evaluate.models import load_scoring_model
    from trainers.evaluate.scorer import MinimalPairScorer

    model = load_scoring_model(folder)
    model.module.to(device)
    scorer = MinimalPairScorer(model)
    scorer.score_pairs(good[:50], bad[:50])  # warm-up
    _sync(device)
    start = time.perf_counter()
    scores = scorer.score_pairs(good, bad)
    _sync(device)
    return time.perf_counter() - start, scores.correct


def run_minicons(
    folder: Path, objective: str, good: list[str], bad: list[str], device: str, batch: int
) -> tuple[float, np.ndarray]:
    from minicons import scorer
    from transformers import AutoTokenizer

    if objective == "causal":
        peer = scorer.IncrementalLMScorer(str(folder), device)
        kw: dict = {"bos_token": True}
    else:
        tok = AutoTokenizer.from_pretrained(folder)
        tok.batch_encode_plus = tok.__call__  # minicons 0.3.39 vs transformers 5 (same call)
        peer = scorer.MaskedLMScorer(str(folder), device, tokenizer=tok)
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
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--minicons-batch", type=int, nargs="+", default=[1, 64])
    parser.add_argument(
        "--data-root", type=Path, default=Path(os.environ.get("CORPUSKIT_DATA", "../shared/data"))
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    records = blimp_pairs(args.data_root, args.pairs)
    good, bad = [r["sentence_good"] for r in records], [r["sentence_bad"] for r in records]
    with tempfile.TemporaryDirectory() as tmp:
        make_model(Path(tmp), args.objective, args.size, good + bad)
        ours_s, ours_ok = run_ours(Path(tmp), good, bad, args.device)
        rows = [("corpuskit", "auto", ours_s, ours_ok)]
        for batch in args.minicons_batch:
            secs, ok = run_minicons(Path(tmp), args.objective, good, bad, args.device, batch)
            rows.append(("minicons", str(batch), secs, ok))
    print(
        f"{len(good)} pairs, {args.objective}, {args.size}, device {args.device}, {args.threads} thread(s)"
    )
    print(
        f"{'scorer':<10} {'batch':>6} {'seconds':>9} {'pairs/s':>9} {'accuracy':>9} {'agree':>6} {'corpuskit x':>12}"
    )
    for name, batch, secs, ok in rows:
        agree = "yes" if (ok == ours_ok).all() else "NO"
        print(
            f"{name:<10} {batch:>6} {secs:>9.2f} {len(good) / secs:>9.1f} {ok.mean():>9.3f} {agree:>6} {secs / ours_s:>12.1f}"
        )


if __name__ == "__main__":
    main()
