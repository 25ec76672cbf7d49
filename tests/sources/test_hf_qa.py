"""hf_dataset from a dataset saved in the test; qa and instruction templates."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from corpuskit.errors import InputError
from corpuskit.sources import HFDatasetSource, InstructionSource, QASource
from corpuskit.step import CheckContext
from tests.sources.helpers import Read


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hf") / "ds"
    train = datasets.Dataset.from_dict(
        {"text": ["a b c", "d e", None, "f"], "uid": ["u1", "u2", "u3", "u4"], "n": [1, 2, 3, 4]}
    )
    test = datasets.Dataset.from_dict({"text": ["t"], "uid": ["x"], "n": [9]})
    datasets.DatasetDict({"train": train, "test": test}).save_to_disk(str(path))
    return path


def test_saved_dataset_rows_ids_and_rejects(saved: Path) -> None:
    read = Read(HFDatasetSource(path=str(saved), name="hf"))
    assert read.texts == ["a b c", "d e", "f"]
    assert read.ids == ["hf:train:0", "hf:train:1", "hf:train:3"]
    assert read.reasons == {"missing_field": 1}
    assert any(p.endswith("train/data-00000-of-00001.arrow") for p in read.ctx.inputs)


def test_row_partitions_give_the_same_documents(saved: Path) -> None:
    whole = Read(HFDatasetSource(path=str(saved), id_field="uid"))
    source = HFDatasetSource(path=str(saved), id_field="uid", rows_per_partition=3)
    assert source.partitions(CheckContext(None)) == ["rows:0:3", "rows:3:4"]
    assert Read(source).docs == whole.docs


def test_split_template_and_meta_fields(saved: Path) -> None:
    read = Read(
        HFDatasetSource(path=str(saved), split="test", template="{uid}: {text}", meta_fields=["n"])
    )
    assert read.texts == ["x: t"]
    assert json.loads(read.docs[0]["meta"])["n"] == 9


def test_missing_local_dataset_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no dataset at"):
        HFDatasetSource(path=str(tmp_path / "nope")).input_files(CheckContext(None))


def test_qa_chat_template_and_missing_answer(tmp_path: Path) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_text(
        json.dumps({"q": "Why is the sky blue?", "a": "Scattering."})
        + "\n"
        + json.dumps({"q": "?"})
        + "\n"
    )
    read = Read(QASource(paths=[str(path)], question_field="q", answer_field="a", name="qa"))
    assert read.texts == ["User: Why is the sky blue?\nAssistant: Scattering."]
    assert [(r["id"].rsplit(":", 1)[1], r["reason"]) for r in read.rejects] == [
        ("2", "missing_field")
    ]


def test_qa_from_parquet_with_context(tmp_path: Path) -> None:
    path = tmp_path / "qa.parquet"
    datasets.Dataset.from_dict(
        {"question": ["Who?"], "answer": ["Me."], "passage": ["I did it."]}
    ).to_parquet(str(path))
    read = Read(
        QASource(
            paths=[str(path)],
            context_field="passage",
            template="{context}\nQ: {question}\nA: {answer}",
        )
    )
    assert read.texts == ["I did it.\nQ: Who?\nA: Me."]


def test_instruction_templates_with_and_without_input(tmp_path: Path) -> None:
    path = tmp_path / "ins.csv"
    path.write_text('instruction,input,output\nAdd the numbers,2 and 3,5\nSay hi,,"hi, there"\n')
    read = Read(InstructionSource(paths=[str(path)]))
    assert read.texts == [
        "### Instruction:\nAdd the numbers\n\n### Input:\n2 and 3\n\n### Response:\n5",
        "### Instruction:\nSay hi\n\n### Response:\nhi, there",
    ]
