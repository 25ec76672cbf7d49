"""jsonl / csv / tsv / parquet / arrow sources: fields, ids, located rejects, partitions."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpuskit.sources import ArrowSource, CsvSource, JsonlSource, ParquetSource, TsvSource
from corpuskit.step import CheckContext
from tests.sources.helpers import Read


def test_jsonl_bad_lines_become_located_rejects(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(
        b'{"text": "hello world", "k": 1}\n'
        b"not json at all\n"
        b"\n"
        b"[1, 2]\n"
        b'{"body": "no text field"}\n'
        b'{"text": ["a", "list"]}\n'
        b'{"text": "bad \xff byte"}\n'
        b'{"text": "last one"}\n'
    )
    read = Read(JsonlSource(paths=[str(path)], name="j", meta_fields=["k"]))
    assert read.texts == ["hello world", "last one"]
    assert [json.loads(d["meta"]).get("k") for d in read.docs] == [1, None]
    lines = {r["id"].rsplit(":", 1)[1]: r["reason"] for r in read.rejects}
    assert lines == {
        "2": "malformed_record",
        "4": "malformed_record",
        "5": "missing_field",
        "6": "malformed_record",
        "7": "decode_error",
    }
    assert json.loads(read.rejects[0]["meta"])["line"] == 2
    assert read.rejects[0]["text"] == "not json at all"


def test_jsonl_id_field_template_and_several_text_fields(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    rows = [{"id": "a1", "q": "Why?", "a": "Because."}, {"id": "a2", "q": "How?", "a": "So."}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    joined = Read(JsonlSource(paths=[str(path)], name="j", text_fields=["q", "a"], join=" "))
    assert joined.texts == ["Why? Because.", "How? So."]
    templated = Read(
        JsonlSource(paths=[str(path)], name="j", template="Q: {q} A: {a}", id_field="id")
    )
    assert templated.texts == ["Q: Why? A: Because.", "Q: How? A: So."]
    assert templated.ids == ["j:a1", "j:a2"]


def test_template_placeholders_are_validated() -> None:
    with pytest.raises(ValueError, match="plain field name"):
        JsonlSource(paths=["x.jsonl"], template="{q!r}")


def test_csv_wrong_column_count_is_malformed_and_quotes_span_lines(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text('\ufeffid,text\n1,"hello, world"\n2,"two\nlines"\n3,too,many\n4,fine\n')
    read = Read(CsvSource(paths=[str(path)], name="c", id_field="id"))
    assert read.texts == ["hello, world", "two\nlines", "fine"]
    assert read.ids == ["c:1", "c:2", "c:4"]
    assert [(r["id"].rsplit(":", 1)[1], r["reason"]) for r in read.rejects] == [
        ("5", "malformed_record")
    ]


def test_tsv_without_header_uses_given_columns_and_bare_quotes(tmp_path: Path) -> None:
    path = tmp_path / "r.tsv"
    path.write_text('x\tHe said "hi" to me\ny\tplain\n')
    read = Read(TsvSource(paths=[str(path)], header=False, columns=["k", "text"]))
    assert read.texts == ['He said "hi" to me', "plain"]
    assert [i.rsplit(":", 1)[1] for i in read.ids] == ["1", "2"]


def _write_table(tmp_path: Path) -> pa.Table:
    table = pa.table(
        {
            "text": ["a b", "c", None, "d e f", "g"],
            "n": [10, 11, 12, 13, 14],
            "tags": [["x"], [], ["y"], [], []],
        }
    )
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=2)
    return table


def test_parquet_ids_do_not_depend_on_partitioning(tmp_path: Path) -> None:
    _write_table(tmp_path)
    reads = [
        Read(ParquetSource(paths=[str(tmp_path / "t.parquet")], name="p", rows_per_partition=n))
        for n in (1, 2, 3, 1_000)
    ]
    parts = [
        len(
            ParquetSource(paths=[str(tmp_path / "t.parquet")], rows_per_partition=n).partitions(
                CheckContext(None)
            )
        )
        for n in (1, 2, 3, 1_000)
    ]
    assert parts == [3, 3, 2, 1]
    for read in reads:
        assert read.texts == ["a b", "c", "d e f", "g"]
        assert [i.rsplit(":", 1)[1] for i in read.ids] == ["0", "1", "3", "4"]
        assert [(r["id"].rsplit(":", 1)[1], r["reason"]) for r in read.rejects] == [
            ("2", "missing_field")
        ]


def test_parquet_integer_id_field_and_list_column_is_malformed(tmp_path: Path) -> None:
    _write_table(tmp_path)
    path = str(tmp_path / "t.parquet")
    by_id = Read(
        ParquetSource(paths=[path], name="p", id_field="n", text_fields=["text", "n"], join="|")
    )
    assert by_id.ids == ["p:10", "p:11", "p:13", "p:14"]
    assert by_id.texts == ["a b|10", "c|11", "d e f|13", "g|14"]
    lists = Read(ParquetSource(paths=[path], name="p", text_fields=["tags"]))
    assert lists.docs == []
    assert lists.reasons == {"malformed_record": 5}


@pytest.mark.parametrize("stream", [False, True])
def test_arrow_ipc_files_and_streams(tmp_path: Path, stream: bool) -> None:
    table = pa.table({"body": ["one", "two", None]})
    path = tmp_path / "t.arrow"
    with pa.OSFile(str(path), "wb") as sink:
        writer = (pa.ipc.new_stream if stream else pa.ipc.new_file)(sink, table.schema)
        writer.write_table(table)
        writer.close()
    read = Read(ArrowSource(paths=[str(path)], name="a", text_fields="body"))
    assert read.texts == ["one", "two"]
    assert read.reasons == {"missing_field": 1}


TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)


@given(st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=20))
def test_the_same_records_read_the_same_from_every_format(tmp_path_factory, rows) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("fmt")
    records = [{"title": a, "body": b} for a, b in rows]
    (folder / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    with (folder / "r.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["title", "body"])
        writer.writeheader()
        writer.writerows(records)
    pq.write_table(pa.Table.from_pylist(records), folder / "r.parquet")
    expected = [f"{a}\n{b}" for a, b in rows]
    fields = {"text_fields": ["title", "body"]}
    for source in (
        JsonlSource(paths=[str(folder / "r.jsonl")], **fields),
        CsvSource(paths=[str(folder / "r.csv")], **fields),
        ParquetSource(paths=[str(folder / "r.parquet")], **fields),
    ):
        assert Read(source).texts == expected, source.kind


def test_user_license_wins_and_generic_sources_default_to_unknown() -> None:
    assert JsonlSource(paths=["x"]).license == "unknown"
    custom = JsonlSource(paths=["x"], license="CC-BY-4.0", non_commercial=True)
    assert (custom.license, custom.non_commercial) == ("CC-BY-4.0", True)
