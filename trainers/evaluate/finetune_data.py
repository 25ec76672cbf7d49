"""Fine-tuning data: (train, validation) examples for the GLUE/SuperGLUE tasks in the shared data.

What is available decides the splits (see docs/evaluation.md): MNLI is BabyLM 2026's subset;
RTE and WNLI are GLUE re-splits (train/dev); MRPC is the MSRP train/test split; QQP is a part of
the GLUE dev set, split 80/20 by question-pair id; BoolQ, MultiRC and WSC are FewGLUE's 32
labelled examples, split 24/8 by position. Examples carry two texts and an integer label.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainers.evaluate.errors import TaskError

csv.field_size_limit(1 << 24)


@dataclass(frozen=True)
class Example:
    text_a: str
    text_b: str | None
    label: int


Split = tuple[list[Example], list[Example]]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise TaskError("data file not found", location=str(path))
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def _tsv(path: Path, *, header: bool = True) -> list[list[str]]:
    if not path.is_file():
        raise TaskError("data file not found", location=str(path))
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return rows[1:] if header else rows


def _label(value: Any, labels: tuple[str, ...], where: str) -> int:
    text = str(value).lower()
    if text not in labels:
        raise TaskError(f"label {value!r} is not one of {', '.join(labels)}", location=where)
    return labels.index(text)


def mnli(root: Path) -> Split:
    labels = ("entailment", "neutral", "contradiction")
    folder = root / "glue" / "mnli"

    def read(name: str) -> list[Example]:
        path = folder / name
        return [
            Example(r["premise"], r["hypothesis"], _label(r["label"], labels, f"{path}:{i}"))
            for i, r in enumerate(_jsonl(path), 1)
        ]

    return read("mnli_en.train.jsonl"), read("mnli_en.valid.jsonl")


def _glue_tsv(folder: Path, labels: tuple[str, ...]) -> Split:
    def read(name: str) -> list[Example]:
        path = folder / name
        return [
            Example(r[1], r[2], _label(r[3], labels, f"{path}:{i}"))
            for i, r in enumerate(_tsv(path), 2)
        ]

    return read("train.tsv"), read("dev.tsv")


def rte(root: Path) -> Split:
    return _glue_tsv(root / "glue" / "rte_resplit", ("not_entailment", "entailment"))


def wnli(root: Path) -> Split:
    return _glue_tsv(root / "glue" / "wnli_resplit", ("0", "1"))


def mrpc(root: Path) -> Split:
    folder = root / "paraphrase" / "mrpc"

    def read(name: str) -> list[Example]:
        path = folder / name
        return [
            Example(r[3], r[4], _label(r[0], ("0", "1"), f"{path}:{i}"))
            for i, r in enumerate(_tsv(path), 2)
        ]

    return read("msr_paraphrase_train.txt"), read("msr_paraphrase_test.txt")


def qqp(root: Path) -> Split:
    path = root / "paraphrase" / "qqp" / "qqp_dev_subset.tsv"
    train: list[Example] = []
    valid: list[Example] = []
    for i, r in enumerate(_tsv(path, header=False), 1):
        if len(r) == 5 and r[4][-2:] in (" 0", " 1"):  # a few rows lost the tab before the label
            r = [*r[:4], r[4][:-2], r[4][-1]]
        if len(r) != 6:
            raise TaskError(
                f"expected 6 tab-separated fields, got {len(r)}", location=f"{path}:{i}"
            )
        example = Example(r[3], r[4], _label(r[5], ("0", "1"), f"{path}:{i}"))
        # A stable 80/20 split by pair id (the file has no train part of its own).
        bucket = int(hashlib.sha256(r[0].encode()).hexdigest(), 16) % 5
        (valid if bucket == 0 else train).append(example)
    return train, valid


def _fewglue(root: Path, task: str, convert: Callable[[dict[str, Any]], list[Example]]) -> Split:
    records = _jsonl(root / "superglue_fewglue" / task / "train.jsonl")
    train = [e for r in records[:24] for e in convert(r)]
    valid = [e for r in records[24:] for e in convert(r)]
    return train, valid


def boolq(root: Path) -> Split:
    return _fewglue(
        root, "BoolQ", lambda r: [Example(r["passage"], r["question"], int(r["label"]))]
    )


def multirc(root: Path) -> Split:
    def convert(r: dict[str, Any]) -> list[Example]:
        passage = r["passage"]["text"]
        return [
            Example(passage, f"{q['question']} {a['text']}", int(a["label"]))
            for q in r["passage"]["questions"]
            for a in q["answers"]
        ]

    return _fewglue(root, "MultiRC", convert)


def wsc(root: Path) -> Split:
    def convert(r: dict[str, Any]) -> list[Example]:
        t = r["target"]
        return [
            Example(r["text"], f"{t['span2_text']} refers to {t['span1_text']}.", int(r["label"]))
        ]

    return _fewglue(root, "WSC", convert)
