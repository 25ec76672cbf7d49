"""Fine-tuning evaluation: a classification head on the model's last hidden states.

One recipe for every model we score (ours and HF): the hidden states entering the output Linear
are pooled (the last token for causal models, which are LEFT padded so that token is real; the
first token, ``<s>``/``[CLS]``, for masked ones), a linear head maps them to labels, and the whole
model is trained with the BabyLM protocol: AdamW lr 3e-5, weight decay 0.01, 6% warmup, cosine to
0.1x, batch 32 (16 for BoolQ/MultiRC), 10 epochs (WSC 30), max length 512, seed 42; the best epoch
by validation accuracy (F1 for MRPC and QQP) is reported, with accuracy, F1 and MCC.

On CUDA the loop runs fast without changing the protocol's hyperparameters: bf16 autocast, fused
AdamW, no host syncs inside an epoch, and length-grouped batches (``group_by_length``: each epoch's
seeded permutation is cut into windows of 50 batches, each window sorted by length and cut into
batches, and the batch order shuffled, so every example is seen once per epoch and padding is
small). Validation is sorted by length in batches of 4x the training batch (predictions come back
in order). On CPU none of this is on by default, so CPU scores are those of the plain loop.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from trainers.evaluate import finetune_data as data
from trainers.evaluate.errors import ScoringModelError, TaskError
from trainers.evaluate.finetune_data import Example, Split
from trainers.evaluate.models import ScoringModel
from trainers.evaluate.runner import TaskResult
from trainers.evaluate.tasks import TaskSpec


class FinetuneSettings(BaseModel):
    """Protocol hyperparameters; ``None`` takes the task's default (batch size, epochs)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lr: float = Field(3e-5, gt=0, description="peak AdamW learning rate")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay")
    warmup: float = Field(0.06, ge=0, lt=1, description="share of steps warming up")
    min_lr_ratio: float = Field(0.1, ge=0, le=1, description="cosine ends at lr x this")
    batch_size: int | None = Field(None, ge=1, description="None: the task's (32, or 16)")
    epochs: int | None = Field(None, ge=1, description="None: the task's (10, WSC 30)")
    max_length: int = Field(512, ge=8, description="tokens per example (truncated)")
    seed: int = Field(42, description="head init and data order")
    max_train: int | None = Field(None, ge=1, description="cap on training examples (CPU tests)")
    max_valid: int | None = Field(None, ge=1, description="cap on validation examples")
    group_by_length: bool | None = Field(
        None,
        description="batches of similar lengths (other batch composition, same examples per "
        "epoch); None: on for CUDA only, so CPU scores stay those of the plain order",
    )


@dataclass(frozen=True)
class FinetuneTask:
    spec: TaskSpec
    num_labels: int
    load: Callable[[Path], Split]
    batch_size: int = 32
    epochs: int = 10
    max_train: int | None = None  # BabyLM caps QQP and MNLI at 10k training examples


def _task(
    name: str, files: list[str], labels: int, load: Callable[[Path], Split], **kw: int
) -> FinetuneTask:
    metric = "f1" if name in ("mrpc", "qqp") else "accuracy"
    spec = TaskSpec(name=name, version=1, kind="finetune", files=files, metric=metric)
    return FinetuneTask(spec, labels, load, **kw)


FINETUNE_TASKS: dict[str, FinetuneTask] = {
    t.spec.name: t
    for t in (
        _task("mnli", ["glue/mnli/*.jsonl"], 3, data.mnli, max_train=10_000),
        _task("rte", ["glue/rte_resplit/*.tsv"], 2, data.rte),
        _task("wnli", ["glue/wnli_resplit/*.tsv"], 2, data.wnli),
        _task("mrpc", ["paraphrase/mrpc/*.txt"], 2, data.mrpc),
        _task("qqp", ["paraphrase/qqp/*.tsv"], 2, data.qqp, max_train=10_000),
        _task("boolq", ["superglue_fewglue/BoolQ/train.jsonl"], 2, data.boolq, batch_size=16),
        _task("multirc", ["superglue_fewglue/MultiRC/train.jsonl"], 2, data.multirc, batch_size=16),
        _task("wsc", ["superglue_fewglue/WSC/train.jsonl"], 2, data.wsc, epochs=30),
    )
}


def metrics(pred: np.ndarray, gold: np.ndarray, num_labels: int) -> dict[str, float]:
    """Accuracy, F1 (binary: of label 1; else macro) and Matthews correlation (multi-class)."""
    conf = np.zeros((num_labels, num_labels), dtype=np.float64)
    np.add.at(conf, (gold, pred), 1)
    f1s = []
    for k in range(num_labels) if num_labels > 2 else [1]:
        tp, fp, fn = conf[k, k], conf[:, k].sum() - conf[k, k], conf[k, :].sum() - conf[k, k]
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    n, correct = conf.sum(), np.trace(conf)
    t, p = conf.sum(1), conf.sum(0)  # true and predicted counts per class
    denom = math.sqrt((n * n - (p * p).sum()) * (n * n - (t * t).sum()))
    mcc = (correct * n - (t * p).sum()) / denom if denom else 0.0
    return {
        "accuracy": float(correct / n) if n else 0.0,
        "f1": float(np.mean(f1s)),
        "mcc": float(mcc),
    }


class Classifier(nn.Module):
    """The scored model plus a linear head over its pooled last hidden state."""

    def __init__(self, model: ScoringModel, num_labels: int):
        super().__init__()
        self.model = model
        head = model.head
        if head is None:
            raise ScoringModelError(
                "no output Linear to read hidden states from", location=model.name
            )
        self.lm_head = head
        self.classifier = nn.Linear(head.in_features, num_labels)
        self.pool_last = model.objective != "masked"

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        captured: list[torch.Tensor] = []

        def grab(_m: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor]:
            captured.append(args[0])
            return (args[0][:, :1],)  # the vocabulary projection is not needed: keep it tiny

        handle = self.lm_head.register_forward_pre_hook(grab)
        try:
            self.model.logits(ids, mask)
        finally:
            handle.remove()
        hidden = captured[0]  # (B, T, C)
        pooled = hidden[:, -1] if self.pool_last else hidden[:, 0]  # left-padded: -1 is real
        return self.classifier(pooled)  # (B, num_labels)


def encode(model: ScoringModel, examples: list[Example], max_length: int) -> list[list[int]]:
    tok = model.tokenizer
    sep = tok.sep_token or tok.eos_token or ""
    texts = [e.text_a if e.text_b is None else f"{e.text_a} {sep} {e.text_b}" for e in examples]
    # Causal models read the last token: cut long inputs at the front, never the question.
    tok.truncation_side = "left" if model.objective != "masked" else "right"
    return tok(texts, truncation=True, max_length=max_length)["input_ids"]


def pad_batch(rows: list[list[int]], pad: int, left: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, mask) of a batch; LEFT padding for causal models (the GPT-2 classification bug)."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        span = slice(width - len(r), width) if left else slice(0, len(r))
        ids[i, span], mask[i, span] = torch.tensor(r), 1
    return ids, mask


def finetune_task(
    model: ScoringModel, task: FinetuneTask, data_root: Path | None, settings: FinetuneSettings
) -> TaskResult:
    """Fine-tune a copy of ``model`` on ``task``; the best epoch's validation scores."""
    if data_root is None:
        raise TaskError(f"task {task.spec.name} reads the shared data: pass --data-root")
    train, valid = task.load(data_root)
    if len({e.label for e in train}) < 2:
        raise TaskError(
            f"task {task.spec.name}: the training data holds a single label, so fine-tuning "
            "cannot measure anything",
            hint="FewGLUE's WSC train set is all True; place the full SuperGLUE WSC data instead",
        )
    cap = settings.max_train or task.max_train
    train, valid = train[:cap], valid[: settings.max_valid]
    torch.manual_seed(settings.seed)
    work = ScoringModel(
        copy.deepcopy(model.module), model.tokenizer, model.objective, model.name, model.kind
    )
    net = Classifier(work, task.num_labels).to(work.device)
    epochs = settings.epochs or task.epochs
    batch = settings.batch_size or task.batch_size
    x_train, x_valid = (
        encode(work, train, settings.max_length),
        encode(work, valid, settings.max_length),
    )
    device = work.device
    cuda = device.type == "cuda"
    grouped = cuda if settings.group_by_length is None else settings.group_by_length
    y_train = torch.tensor([e.label for e in train])
    y_valid = np.array([e.label for e in valid])
    steps = epochs * math.ceil(len(train) / batch)
    optim = torch.optim.AdamW(
        net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay, fused=cuda or None
    )
    warm = max(1, int(settings.warmup * steps))

    def lr_at(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = (step - warm) / max(1, steps - warm)
        return settings.min_lr_ratio + (1 - settings.min_lr_ratio) * 0.5 * (
            1 + math.cos(math.pi * progress)
        )

    sched = torch.optim.lr_scheduler.LambdaLR(optim, lr_at)
    gen = torch.Generator().manual_seed(settings.seed)
    pad, left = work.tokenizer.pad_token_id or 0, work.objective != "masked"
    lengths = [len(r) for r in x_train]
    best: dict[str, float] = {}
    for epoch in range(epochs):
        net.train()
        for index in epoch_batches(lengths, batch, gen, grouped=grouped):
            ids, mask = pad_batch([x_train[i] for i in index], pad, left)
            with autocast(device):
                logits = net(to_device(ids, device), to_device(mask, device))
            # The loss in float32 whatever the autocast dtype of the logits.
            loss = nn.functional.cross_entropy(logits.float(), to_device(y_train[index], device))
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            sched.step()
        eval_batch = 4 * batch if grouped else batch
        pred = predict(net, x_valid, pad, left, eval_batch, by_length=grouped)
        scores = metrics(pred, y_valid, task.num_labels)
        if not best or scores[task.spec.metric] > best[task.spec.metric]:
            best = {**scores, "best_epoch": float(epoch + 1)}
    extra = {**best, "n_train": len(train), "epochs": epochs, "batch_size": batch}
    score = best.get(task.spec.metric, 0.0)
    return TaskResult(
        task.spec.name, task.spec.version, task.spec.metric, score, len(valid), extra=extra
    )


def epoch_batches(
    lengths: list[int], batch: int, gen: torch.Generator, *, grouped: bool, window: int = 50
) -> list[list[int]]:
    """One epoch's batches of example indices: every index exactly once, seeded by ``gen``.

    Plain: the seeded permutation cut in order. Grouped: the permutation cut into windows of
    ``window`` batches, each sorted by length (stable) and cut into batches, then the batches
    shuffled; windows are whole batches, so the batch count is the plain one.
    """
    order = torch.randperm(len(lengths), generator=gen).tolist()
    if not grouped:
        return [order[i : i + batch] for i in range(0, len(order), batch)]
    span = batch * window
    batches = []
    for start in range(0, len(order), span):
        part = sorted(order[start : start + span], key=lengths.__getitem__)
        batches += [part[i : i + batch] for i in range(0, len(part), batch)]
    return [batches[k] for k in torch.randperm(len(batches), generator=gen).tolist()]


def autocast(device: torch.device) -> torch.autocast:
    """bf16 autocast on CUDA; a disabled one elsewhere (CPU stays float32)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Copy a CPU batch to ``device``; pinned and asynchronous for CUDA (no host sync)."""
    if device.type != "cuda":
        return tensor
    return tensor.pin_memory().to(device, non_blocking=True)


def predict(
    net: Classifier,
    rows: list[list[int]],
    pad: int,
    left: bool,
    batch: int,
    *,
    by_length: bool = False,
) -> np.ndarray:
    """Argmax labels for encoded rows, in order (``by_length``: batched by length, less padding)."""
    net.eval()
    device = net.model.device
    order = sorted(range(len(rows)), key=lambda i: len(rows[i])) if by_length else None
    ranked = [rows[i] for i in order] if order is not None else rows
    out = []
    with torch.inference_mode(), autocast(device):
        for start in range(0, len(ranked), batch):
            ids, mask = pad_batch(ranked[start : start + batch], pad, left)
            out.append(net(to_device(ids, device), to_device(mask, device)).argmax(-1))
    # One transfer at the end instead of one sync per batch.
    labels = torch.cat(out).cpu().numpy() if out else np.zeros(0, dtype=np.int64)
    if order is None:
        return labels
    restored = np.empty_like(labels)
    restored[order] = labels
    return restored
