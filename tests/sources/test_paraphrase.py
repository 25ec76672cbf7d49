"""Paraphrase pairs: MRPC and QQP from the shared data, PAWS and generic formats from fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpuskit.sources import ParaphrasePairsSource
from tests.sources.helpers import DATA, Read

MRPC_TRAIN = "paraphrase/mrpc/msr_paraphrase_train.txt"


def test_mrpc_train_has_4076_pairs_2753_positive(data_root: Path) -> None:
    every = Read(ParaphrasePairsSource(paths=[MRPC_TRAIN], format="mrpc"), data_root)
    assert len(every.docs) == 4_076
    assert every.rejects == []
    labels = [json.loads(d["meta"])["label"] for d in every.docs]
    assert labels.count(1) == 2_753 and labels.count(0) == 1_323
    first = every.docs[0]
    assert first["text"].startswith('Amrozi accused his brother, whom he called "the witness", of')
    assert json.loads(first["meta"])["pair_id"] == "702876-702977"
    assert first["id"] == f"paraphrase_pairs:{MRPC_TRAIN}:2"  # line 1 is the header


def test_mrpc_positives_only_rejects_negatives_with_a_reason(data_root: Path) -> None:
    positives = Read(
        ParaphrasePairsSource(paths=[MRPC_TRAIN], format="mrpc", positives_only=True), data_root
    )
    assert len(positives.docs) == 2_753
    assert positives.reasons == {"negative_pair": 1_323}
    assert ParaphrasePairsSource(paths=[MRPC_TRAIN], format="mrpc").non_commercial


def test_qqp_without_header_and_its_malformed_first_row(data_root: Path) -> None:
    read = Read(
        ParaphrasePairsSource(paths=["paraphrase/qqp/qqp_dev_subset.tsv"], format="qqp"), data_root
    )
    assert len(read.docs) == 23_496
    assert [(r["id"].rsplit(":", 1)[1], r["reason"]) for r in read.rejects] == [
        ("1", "malformed_record")
    ]
    assert json.loads(read.rejects[0]["meta"])["error"] == "5 columns, expected 6"
    assert json.loads(read.docs[0]["meta"])["pair_id"] == "360472"


def test_qqp_with_header(tmp_path: Path) -> None:
    path = tmp_path / "qqp.tsv"
    path.write_text(
        "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
        "7\t1\t2\tHow do I cook rice?\tWhat is the way to cook rice?\t1\n"
    )
    read = Read(
        ParaphrasePairsSource(
            paths=[str(path)], format="qqp", template="{sentence1} || {sentence2}"
        )
    )
    assert read.texts == ["How do I cook rice? || What is the way to cook rice?"]
    assert json.loads(read.docs[0]["meta"])["label"] == 1


def test_paws_tsv_keeps_bare_quotes() -> None:
    read = Read(
        ParaphrasePairsSource(
            paths=[str(DATA / "paws_sample.tsv")], format="paws", positives_only=True
        )
    )
    assert read.texts == [
        "The cat sat on the mat . On the mat sat the cat .",
        'She wrote "hello" twice . She twice wrote "hello" .',
    ]
    assert [json.loads(d["meta"])["pair_id"] for d in read.docs] == ["1", "3"]
    assert read.reasons == {"negative_pair": 1}


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_generic_formats_with_custom_fields(tmp_path: Path, fmt: str) -> None:
    rows = [
        {"a": "One thing.", "b": "A single thing.", "y": "yes"},
        {"a": "Up.", "b": None, "y": "no"},
    ]
    path = tmp_path / f"pairs.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        path.write_text("a,b,y\nOne thing.,A single thing.,yes\nUp.\n")
    source = ParaphrasePairsSource(
        paths=[str(path)],
        format=fmt,
        sentence1_field="a",
        sentence2_field="b",
        label_field="y",
        id_field=None,
    )
    read = Read(source)
    assert read.texts == ["One thing. A single thing."]
    assert json.loads(read.docs[0]["meta"])["label"] == "yes"
    assert read.reasons == {"missing_field": 1} if fmt == "jsonl" else {"malformed_record": 1}
    assert source.license == "unknown"
