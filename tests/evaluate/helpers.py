"""Tiny models for the evaluator tests: random weights, tokenizers trained here, saved locally."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

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

OWN_TEXT = [
    "The small cat sleeps on the warm mat.",
    "Who did the old dog see near the river?",
    "These children were reading a long book about boats.",
    "Many people hoped that the weather would improve soon.",
]


def blimp_subset(data_root: Path, per_paradigm: int = 15, total: int = 1000) -> list[dict]:
    """The first ``per_paradigm`` pairs of every paradigm (sorted by name), cut at ``total``."""
    records: list[dict] = []
    for path in sorted((data_root / "blimp").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for n, line in enumerate(handle):
                if n >= per_paradigm:
                    break
                records.append(json.loads(line))
    return records[:total]


def save_tiny_gpt2(
    folder: Path,
    texts: list[str],
    *,
    seed: int = 0,
    vocab_size: int = 400,
    layers: int = 2,
    hidden: int = 32,
    heads: int = 2,
) -> Path:
    """GPT-2 (2 layers, 32 dims by default) with a byte-level BPE trained on ``texts``."""
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    eot = "<|endoftext|>"
    hf_tok = GPT2TokenizerFast(tokenizer_object=tok, bos_token=eot, eos_token=eot, unk_token=eot)
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(hf_tok),
        n_positions=128,
        n_embd=hidden,
        n_layer=layers,
        n_head=heads,
        bos_token_id=0,
        eos_token_id=0,
    )
    model = GPT2LMHeadModel(config).eval()
    model.save_pretrained(folder)
    hf_tok.save_pretrained(folder)
    return folder


def bert_tokenizer(texts: list[str], vocab_size: int = 300, *, fixed_vocab: bool = False):
    """A WordPiece BERT tokenizer trained on ``texts``; with ``fixed_vocab``, its vocabulary is
    the sorted words of ``texts`` instead: the same ids in every process (WordPiece training
    breaks ties in hash order, so trained ids vary between runs)."""
    from transformers import BertTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    if fixed_vocab:
        words = sorted({w for t in texts for w in re.findall(r"\w+|[^\w\s]", t.lower())})
        vocab = {w: i for i, w in enumerate([*specials, *words])}
        tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    else:
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    if not fixed_vocab:
        trainer = trainers.WordPieceTrainer(
            vocab_size=vocab_size, special_tokens=specials, show_progress=False
        )
        tok.train_from_iterator(texts, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    return BertTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def save_tiny_bert(
    folder: Path,
    texts: list[str],
    *,
    fixed_vocab: bool = False,
    seed: int = 0,
    vocab_size: int = 300,
    layers: int = 2,
    hidden: int = 32,
    heads: int = 2,
    intermediate: int = 64,
) -> Path:
    """BERT (2 layers, 32 dims by default) with a WordPiece vocabulary trained on ``texts``
    (``fixed_vocab``: their sorted words instead, identical in every process)."""
    from transformers import BertConfig, BertForMaskedLM

    hf_tok = bert_tokenizer(texts, vocab_size, fixed_vocab=fixed_vocab)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(hf_tok),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=128,
    )
    BertForMaskedLM(config).eval().save_pretrained(folder)
    hf_tok.save_pretrained(folder)
    return folder


def save_trainer_export(
    folder: Path,
    arch: str,
    texts: list[str],
    *,
    seed: int = 0,
    vocab_size: int = 200,
    layers: int = 2,
    hidden: int = 32,
    heads: int = 2,
    d_ff: int = 64,
    block_size: int = 64,
    **extra: Any,
) -> tuple[torch.nn.Module, Any]:
    """One of the trainer's own models (random weights, seeded) exported as training exports it,
    with the tokenizer its arch trains on ``texts``; returns (module, tokenizer)."""
    from trainers.config import TrainConfig
    from trainers.models import ModelArgs, build_model, export
    from trainers.tokenizer import train_tokenizer, wrap

    config = TrainConfig(arch=arch)  # the arch's tokenizer kind and objective, as training has
    tok = wrap(train_tokenizer(iter(texts), config.tokenizer_kind, vocab_size, config.objective))
    torch.manual_seed(seed)
    args = ModelArgs(
        arch=arch,
        vocab_size=len(tok),
        n_layer=layers,
        n_head=heads,
        d_model=hidden,
        d_ff=d_ff,
        block_size=block_size,
        **extra,
    )
    model = build_model(args).eval()
    export(model, tok, folder)
    return model, tok


def minicons_masked(folder: Path, **model_options: Any):
    """minicons' MaskedLMScorer on ``folder`` (options go to ``from_pretrained``).

    minicons 0.3.39 calls ``tokenizer.batch_encode_plus``, which transformers 5 removed; calling
    the tokenizer is what that method did, so we give minicons the same callable under that name.
    """
    from minicons import scorer
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder, **model_options)  # it reads config.json too
    tok.batch_encode_plus = tok.__call__
    return scorer.MaskedLMScorer(str(folder), "cpu", tokenizer=tok, **model_options)


def minicons_causal(folder: Path, **model_options: Any):
    from minicons import scorer

    return scorer.IncrementalLMScorer(str(folder), "cpu", **model_options)
