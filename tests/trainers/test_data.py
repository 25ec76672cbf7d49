"""Tokenizer cache, token files, packing, deterministic block order, held-out slice, stages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import corpuskit
from trainers.data import BlockOrder, TokenStore, is_held_out, tokenize_build, val_blocks
from trainers.tokenizer import BOS, EOS, MASK, get_tokenizer, tokenizer_digest


def test_bpe_tokenizer_is_cached_and_hf_loadable(tiny_build: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    build = corpuskit.open_build(tiny_build)
    tok, folder = get_tokenizer(build, "bpe", 300, "causal", tmp_path)
    stamp = (folder / "tokenizer.json").stat().st_mtime_ns
    _, folder2 = get_tokenizer(build, "bpe", 300, "causal", tmp_path)
    assert folder2 == folder and (folder / "tokenizer.json").stat().st_mtime_ns == stamp
    assert folder.name.startswith(build.recipe_hash)
    assert (tok.pad_token_id, tok.bos_token_id, tok.eos_token_id, tok.mask_token_id) == (0, 2, 3, 4)
    ids = tok("the cat sees a song").input_ids
    assert ids[0] == BOS and ids[-1] != EOS  # causal: <s> in front only
    assert tok.decode(ids, skip_special_tokens=True) == "the cat sees a song"
    assert AutoTokenizer.from_pretrained(folder)("the cat").input_ids == tok("the cat").input_ids
    assert len(tok) <= 300


def test_wordpiece_for_masked_models_wraps_in_s_and_end(tiny_build: Path, tmp_path: Path) -> None:
    tok, _ = get_tokenizer(corpuskit.open_build(tiny_build), "wordpiece", 200, "masked", tmp_path)
    ids = tok("the cat sees a song").input_ids
    assert tok.convert_ids_to_tokens(ids) == ["<s>", "the", "cat", "sees", "a", "song", "</s>"]
    assert tok.mask_token_id == MASK


def _store(build_path: Path, tmp_path: Path, val_fraction: float) -> tuple[TokenStore, object]:
    build = corpuskit.open_build(build_path)
    tok, folder = get_tokenizer(build, "bpe", 300, "causal", tmp_path)
    return tokenize_build(build, tok, tokenizer_digest(folder), val_fraction, tmp_path), tok


def test_token_file_is_every_document_wrapped_in_build_order(
    tiny_build: Path, tmp_path: Path
) -> None:
    store, tok = _store(tiny_build, tmp_path, 0.1)
    docs = list(corpuskit.read_shards(tiny_build))
    train = [d for d in docs if not is_held_out(d.id, 0.1)]
    held = [d for d in docs if is_held_out(d.id, 0.1)]
    assert 0 < len(held) < len(docs) // 4
    expected = [
        t for d in train for t in [BOS, *tok(d.text, add_special_tokens=False).input_ids, EOS]
    ]
    assert store.tokens("train").tolist() == expected
    assert store.index["val_docs"] == len(held) and store.stages[0]["docs"] == len(train)
    val = store.tokens("val")
    assert int((val == BOS).sum()) == len(held)
    assert _store(tiny_build, tmp_path, 0.1)[0].folder == store.folder  # cached


def test_block_order_is_a_permutation_per_epoch_and_deterministic(
    tiny_build: Path, tmp_path: Path
) -> None:
    store, _ = _store(tiny_build, tmp_path, 0.0)
    order = BlockOrder(store, 16, seed=3, epochs=2)
    n = order.blocks_per_epoch
    assert len(order) == 2 * n == 2 * ((store.index["train_tokens"] - 1) // 16)
    epoch0 = [order.locate(i)[2] for i in range(n)]
    epoch1 = [order.locate(n + i)[2] for i in range(n)]
    assert sorted(epoch0) == sorted(epoch1) == list(range(n))
    assert epoch0 != epoch1
    again = BlockOrder(store, 16, seed=3, epochs=2)
    assert np.array_equal(again.batch(5, 7), order.batch(5, 7))
    other = BlockOrder(store, 16, seed=4, epochs=2)
    assert not np.array_equal(other.batch(0, 8), order.batch(0, 8))
    tokens = store.tokens("train")
    block = order.locate(0)[2]
    assert order.batch(0, 1)[0].tolist() == tokens[block * 16 : block * 16 + 17].tolist()


@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=4), st.integers(0, 3))
def test_stage_major_consumes_stages_in_order(sizes: list[int], seed: int) -> None:
    stages, offset = [], 0
    for i, n in enumerate(sizes):
        stages.append({"name": f"s{i}", "offset": offset, "tokens": n, "docs": 1})
        offset += n
    index = {"dtype": "uint16", "stages": stages, "train_tokens": offset, "val_tokens": 0}
    store = TokenStore(Path("/nonexistent"), index)
    order = BlockOrder(store, 4, seed=seed, epochs=3)
    seen = [order.locate(i)[:2] for i in range(len(order))]
    assert seen == sorted(seen)  # (stage, epoch) never goes back
    assert len(order) == 3 * sum(max(0, (n - 1) // 4) for n in sizes)
    epoch_major = BlockOrder(store, 4, seed=seed, epochs=3, curriculum="epoch_major")
    seen = [epoch_major.locate(i)[:2][::-1] for i in range(len(epoch_major))]
    assert seen == sorted(seen)  # (epoch, stage) never goes back


def test_curriculum_stages_keep_their_documents_apart(tmp_path: Path) -> None:
    from corpuskit.curriculum import Curriculum, Stage

    class TwoStages(Curriculum, kind="test_two_stages"):
        def order(self, table, ctx):  # type: ignore[no-untyped-def]
            return [Stage("early", np.array([0, 1])), Stage("late", np.array([2]))]

    recipe = corpuskit.Recipe(
        name="staged",
        sources=[corpuskit.DocumentsSource(documents=["a b c d", "e f g h", "x y z"])],
        curriculum=TwoStages(),
    )
    path = recipe.build(out=tmp_path / "out").path
    store, tok = _store(path, tmp_path, 0.0)
    assert [(s["name"], s["docs"]) for s in store.stages] == [("early", 2), ("late", 1)]
    late = store.tokens()[store.stages[1]["offset"] :].tolist()
    assert late == [BOS, *tok("x y z", add_special_tokens=False).input_ids, EOS]


def test_val_blocks_are_the_first_held_out_tokens(tiny_build: Path, tmp_path: Path) -> None:
    store, _ = _store(tiny_build, tmp_path, 0.2)
    blocks = val_blocks(store, 8, 3)
    val = store.tokens("val")
    assert blocks.shape == (3, 9)
    assert blocks[1].tolist() == val[8:17].tolist()


@pytest.mark.parametrize("fraction", [0.0, 0.05])
def test_held_out_choice_is_by_id_only(fraction: float) -> None:
    picked = [is_held_out(f"doc:{i}", fraction) for i in range(4000)]
    assert picked == [is_held_out(f"doc:{i}", fraction) for i in range(4000)]
    assert abs(sum(picked) - 4000 * fraction) <= 40
