"""The transformers backend with a tiny Llama created here: the same recipes build offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpuskit import Recipe, build
from corpuskit.generators.cache import GenerationCache
from tests.generators.conftest import mrpc_sentences

pytest.importorskip("torch")
pytest.importorskip("transformers")

WORDS = [
    "the",
    "a",
    "cat",
    "dog",
    "sat",
    "ran",
    "on",
    "in",
    "mat",
    "park",
    "sentence",
    "put",
    "another",
    "way",
    "grammar",
    "point",
    "example",
    "write",
    "new",
    "short",
    "sentences",
    "that",
    "use",
    "this",
    "correctly",
    "one",
    "per",
    "line",
    "without",
    "numbering",
    "words",
    "like",
    "paraphrases",
    "of",
    "below",
    "different",
    "is",
    "are",
    "was",
    "were",
    "and",
    "to",
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with a word-level tokenizer, randomly initialised with a fixed seed."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    path = tmp_path_factory.mktemp("tiny-llama")
    vocab = {tok: i for i, tok in enumerate(["<unk>", "<pad>", "<eos>", *WORDS])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##")  # joins word tokens with spaces
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>"
    )
    tokenizer.save_pretrained(path)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=512,
        eos_token_id=2,
        pad_token_id=1,
        bos_token_id=None,
    )
    LlamaForCausalLM(config).save_pretrained(path)
    return path


def local_recipe(model: Path, texts: list[str], generator: dict, name: str) -> Recipe:
    step = {
        "backend": "transformers",
        "model": str(model),
        "max_tokens": 12,
        "accept_truncated": True,
        "drop_copies": False,
        **generator,
    }
    return Recipe.from_dict(
        {
            "name": name,
            "seed": 3,
            "sources": [{"kind": "documents", "name": "seeds", "documents": texts}],
            "generators": [step],
        }
    )


def test_paraphrase_and_grammar_build_with_a_local_model(
    tiny_model: Path, tmp_path: Path, data_root: Path
) -> None:
    sentences = mrpc_sentences(data_root, 3)
    recipe = local_recipe(
        tiny_model, sentences, {"kind": "paraphrase", "k": 2, "n": 2}, "local-para"
    )
    result = build(recipe, out=tmp_path / "out", workers=1)
    made = [d for d in result.open().documents() if d.meta.get("synthetic")]
    counters = {r["step"]: r for r in result.manifest["ledger"]}["paraphrase"]["counters"]
    assert counters["requests"] == 6 and counters["completion_tokens"] == 6 * 12
    assert {d.meta["seed_id"] for d in made} == {"seeds:0", "seeds:1", "seeds:2"}
    assert all(set(d.text.split()) <= set(WORDS) for d in made)  # decoded from the vocabulary
    assert made[0].meta["generator"]["backend"] == "transformers"
    samples = {(d.meta["seed_id"], d.meta["generator"]["sample"]): d.text for d in made}
    assert samples[("seeds:0", 0)] != samples[("seeds:0", 1)]  # seeds differ per sample

    grammar = local_recipe(
        tiny_model,
        ["The cat sat on the mat."],
        {
            "kind": "grammar_examples",
            "phenomena": ["ellipsis", "binding"],
            "phenomena_per_seed": 2,
            "temperature": 0,
        },
        "local-grammar",
    )
    result = build(grammar, out=tmp_path / "out", workers=1)
    made = [d for d in result.open().documents() if d.meta.get("synthetic")]
    assert {d.meta["generator"]["variant"] for d in made} == {"ellipsis", "binding"}
    with GenerationCache(tmp_path / "out" / ".cache" / "generators.sqlite") as cache:
        assert len(cache.keys()) == 6 + 2
    # greedy decoding is deterministic: a fresh build (its own cache) regenerates the same texts
    again = build(grammar, out=tmp_path / "again", workers=1)
    first = sorted(d.text for d in made)
    assert sorted(d.text for d in again.open().documents() if d.meta.get("synthetic")) == first
