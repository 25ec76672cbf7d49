"""Fine-tuning evaluation: data loaders, metrics, left padding, and a tiny deterministic run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from trainers.evaluate.finetune import (
    FINETUNE_TASKS,
    Classifier,
    FinetuneSettings,
    epoch_batches,
    finetune_task,
    metrics,
    pad_batch,
    predict,
)
from trainers.evaluate.models import load_scoring_model

EXPECTED_SIZES = {
    "mnli": (7107, 1777),
    "rte": (1244, 139),
    "wnli": (565, 70),
    "mrpc": (4076, 1725),
    "boolq": (24, 8),
    "wsc": (24, 8),
}


@pytest.mark.parametrize("name", sorted(FINETUNE_TASKS))
def test_loaders_read_the_shared_data(name: str, data_root: Path) -> None:
    task = FINETUNE_TASKS[name]
    train, valid = task.load(data_root)
    if name in EXPECTED_SIZES:
        assert (len(train), len(valid)) == EXPECTED_SIZES[name]
    if name == "qqp":
        assert len(train) + len(valid) == 23497 and 0.15 < len(valid) / 23497 < 0.25
    labels = {e.label for e in train + valid}
    # FewGLUE's 32 WSC examples are all True: fine-tuning refuses it (see the test below).
    assert labels == ({1} if name == "wsc" else set(range(task.num_labels)))
    assert all(e.text_a and e.text_b for e in train[:50])


def test_metrics_on_a_known_confusion() -> None:
    gold = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    pred = np.array([1, 1, 0, 0, 0, 1, 0, 1])
    m = metrics(pred, gold, 2)
    # tp=3 fp=1 fn=1 tn=3: acc 6/8, F1 = 6/8, MCC = (9-1)/sqrt(4*4*4*4) = 0.5
    assert m == {"accuracy": 0.75, "f1": 0.75, "mcc": 0.5}
    three = metrics(np.array([0, 1, 2, 2]), np.array([0, 1, 2, 1]), 3)
    assert three["accuracy"] == 0.75 and three["f1"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    assert metrics(np.zeros(4, dtype=int), np.array([0, 1, 0, 1]), 2)["mcc"] == 0.0


def test_causal_classifier_is_left_padded_and_padding_invariant(tiny_gpt2: Path) -> None:
    model = load_scoring_model(tiny_gpt2)
    torch.manual_seed(0)
    net = Classifier(model, 2).eval()
    rows = [
        model.tokenizer(t)["input_ids"] for t in ["A cat.", "The old dog sees a red ball today."]
    ]
    pad = model.tokenizer.pad_token_id or 0
    ids, mask = pad_batch(rows, pad, left=True)
    assert mask[0, 0] == 0 and mask[0, -1] == 1  # the short row is padded on the left
    with torch.no_grad():
        batched = net(ids, mask)
        alone = torch.cat([net(*pad_batch([r], pad, left=True)) for r in rows])
        right = net(*pad_batch(rows, pad, left=False))
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=0)
    assert not torch.allclose(right[0], alone[0], atol=1e-3)  # right padding reads a pad token


def test_tiny_finetune_run_is_deterministic(tiny_gpt2: Path, data_root: Path) -> None:
    model = load_scoring_model(tiny_gpt2)
    settings = FinetuneSettings(
        max_train=32, max_valid=16, epochs=2, batch_size=8, max_length=64, lr=1e-3
    )
    before = {k: v.clone() for k, v in model.module.state_dict().items()}
    first = finetune_task(model, FINETUNE_TASKS["rte"], data_root, settings)
    second = finetune_task(model, FINETUNE_TASKS["rte"], data_root, settings)
    assert first.to_dict() == second.to_dict()
    assert (first.task, first.metric, first.n) == ("rte", "accuracy", 16)
    assert first.score == first.extra["accuracy"] and first.extra["best_epoch"] in (1.0, 2.0)
    assert first.extra["n_train"] == 32 and first.extra["batch_size"] == 8
    for k, v in model.module.state_dict().items():  # the scored model itself is untouched
        assert torch.equal(v, before[k])
    mrpc = finetune_task(model, FINETUNE_TASKS["mrpc"], data_root, settings)
    assert mrpc.metric == "f1" and mrpc.score == mrpc.extra["f1"]


def test_single_label_training_data_is_refused(tiny_gpt2: Path, data_root: Path) -> None:
    from trainers.evaluate.errors import TaskError

    with pytest.raises(TaskError, match="task wsc: the training data holds a single label"):
        finetune_task(
            load_scoring_model(tiny_gpt2), FINETUNE_TASKS["wsc"], data_root, FinetuneSettings()
        )


def test_finetune_through_evaluate_on_a_masked_model(
    tiny_bert: Path, data_root: Path, tmp_path: Path
) -> None:
    from trainers.evaluate.runner import EvalSettings, evaluate

    overrides = {"max_train": 16, "max_valid": 8, "epochs": 1, "batch_size": 8, "max_length": 48}
    report = evaluate(
        tiny_bert,
        ["boolq"],
        data_root=data_root,
        settings=EvalSettings(finetune=overrides),
        cache_dir=tmp_path,
    )
    (result,) = report.results
    assert (result.task, result.n, result.extra["n_train"]) == ("boolq", 8, 16)
    assert 0.0 <= result.score <= 1.0 and result.extra["epochs"] == 1


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 40), min_size=1, max_size=300),
    batch=st.integers(1, 9),
    window=st.integers(1, 5),
    seed=st.integers(0, 2**31),
)
def test_length_grouped_epochs_see_every_example_once(
    lengths: list[int], batch: int, window: int, seed: int
) -> None:
    def epochs(grouped: bool) -> list[list[list[int]]]:
        gen = torch.Generator().manual_seed(seed)
        return [epoch_batches(lengths, batch, gen, grouped=grouped, window=window) for _ in "ab"]

    grouped, plain = epochs(True), epochs(False)
    assert grouped == epochs(True)  # same seed, same batches, epoch after epoch
    for batches, plain_batches in zip(grouped, plain, strict=True):
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        assert len(batches) == len(plain_batches) == -(-len(lengths) // batch)
        assert sorted(map(len, batches)) == sorted(map(len, plain_batches))
        for b in batches:  # within a window the batches are cut from a length-sorted run
            assert [lengths[i] for i in b] == sorted(lengths[i] for i in b)


def test_plain_epochs_are_the_seeded_permutation_in_order() -> None:
    gen, twin = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    batches = epoch_batches([3] * 10, 4, gen, grouped=False)
    order = torch.randperm(10, generator=twin).tolist()
    assert batches == [order[0:4], order[4:8], order[8:10]]


def test_grouped_batches_pad_less_than_plain_ones() -> None:
    lengths = [1 + (i * 37) % 100 for i in range(512)]

    def padded(grouped: bool) -> int:
        gen = torch.Generator().manual_seed(0)
        batches = epoch_batches(lengths, 16, gen, grouped=grouped)
        return sum(len(b) * max(lengths[i] for i in b) for b in batches)

    assert padded(True) < 0.6 * padded(False)


def test_prediction_by_length_keeps_the_input_order(tiny_gpt2: Path) -> None:
    model = load_scoring_model(tiny_gpt2)
    torch.manual_seed(0)
    net = Classifier(model, 3)
    with torch.no_grad():  # a sharp head, so that different inputs get different labels
        net.classifier.weight.mul_(1000)
    texts = ["A cat.", "The old dog sees a red ball today.", "Dogs run.", "Is it a big red car?"]
    rows = [model.tokenizer(t)["input_ids"] for t in texts * 3]
    pad = model.tokenizer.pad_token_id or 0
    alone = np.concatenate([predict(net, [r], pad, True, 1) for r in rows])
    assert len(set(alone.tolist())) > 1  # labels differ, so a reordering would show
    assert predict(net, rows, pad, True, 5, by_length=True).tolist() == alone.tolist()
    assert predict(net, rows, pad, True, 5).tolist() == alone.tolist()
