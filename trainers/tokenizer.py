"""Tokenizers trained on a build's text with HF ``tokenizers``, cached by (recipe hash, settings).

Byte-level BPE for ``gpt``/``gptbert`` (every string encodes, no ``<unk>``), WordPiece for
``ltgbert`` (as in LTG-BERT). Both share five special tokens with fixed ids, so the data and the
models never ask which tokenizer they got:

    <pad>=0  <unk>=1  <s>=2 (bos, cls)  </s>=3 (eos, sep)  <mask>=4

Training documents are encoded as ``<s> text </s>``. The saved HF tokenizer adds ``<s>`` in front
of every text (and ``</s>`` after it for the masked ``ltgbert``), so ``tokenizer(text)`` at
evaluation time sees what training saw.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import PreTrainedTokenizerFast

from corpuskit.shards import Build

SPECIALS = ["<pad>", "<unk>", "<s>", "</s>", "<mask>"]
PAD, UNK, BOS, EOS, MASK = range(5)
TOKENIZER_VERSION = 1  # bump when the training recipe below changes


def tokenizer_key(recipe_hash: str, kind: str, vocab_size: int, objective: str) -> str:
    """Cache key: recipe hash + a digest of every tokenizer setting."""
    settings = json.dumps([TOKENIZER_VERSION, kind, vocab_size, objective == "masked"])
    return f"{recipe_hash}-{hashlib.sha256(settings.encode()).hexdigest()[:8]}"


def get_tokenizer(
    build: Build, kind: str, vocab_size: int, objective: str, cache_dir: Path
) -> tuple[PreTrainedTokenizerFast, Path]:
    """Train (or load from the cache) the tokenizer of ``build``; return it and its folder."""
    folder = (
        cache_dir / "tokenizers" / tokenizer_key(build.recipe_hash, kind, vocab_size, objective)
    )
    if not (folder / "tokenizer.json").is_file():
        tok = train_tokenizer(_texts(build), kind, vocab_size, objective)
        _save_atomically(tok, folder)
    return load_tokenizer(folder), folder


def _texts(build: Build) -> Iterator[str]:
    # Every document of the build, in build order; the held-out slice is a negligible share.
    for batch in build.batches():
        yield from batch.column("text").to_pylist()


def train_tokenizer(texts: Iterator[str], kind: str, vocab_size: int, objective: str) -> Tokenizer:
    """A fresh BPE or WordPiece tokenizer with the fixed special tokens."""
    if kind == "bpe":
        tok = Tokenizer(models.BPE(unk_token=None, byte_fallback=False))
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer: trainers.Trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=SPECIALS,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
    else:
        tok = Tokenizer(models.WordPiece(unk_token="<unk>", max_input_chars_per_word=100))
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece(prefix="##")
        trainer = trainers.WordPieceTrainer(
            vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False
        )
    tok.train_from_iterator(texts, trainer=trainer)
    assert [tok.token_to_id(s) for s in SPECIALS] == list(range(5))
    single = "<s> $A </s>" if objective == "masked" else "<s> $A"
    tok.post_processor = processors.TemplateProcessing(
        single=single, special_tokens=[("<s>", BOS), ("</s>", EOS)]
    )
    return tok


def _save_atomically(tok: Tokenizer, folder: Path) -> None:
    tmp = folder.with_name(f".tmp-{folder.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    wrap(tok).save_pretrained(tmp)
    if folder.exists():  # another process won the race; its tokenizer is the same
        shutil.rmtree(tmp)
    else:
        tmp.rename(folder)


def wrap(tok: Tokenizer) -> PreTrainedTokenizerFast:
    """The HF tokenizer object with the special tokens named (``mask_token_id`` = 4)."""
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        cls_token="<s>",
        sep_token="</s>",
        mask_token="<mask>",
    )


def load_tokenizer(folder: Path) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast.from_pretrained(str(folder))


def tokenizer_digest(folder: Path) -> str:
    """sha256 of ``tokenizer.json``: what a checkpoint records and a resume checks."""
    return hashlib.sha256((folder / "tokenizer.json").read_bytes()).hexdigest()
