"""The ``qa`` and ``instruction`` sources: records rendered with a chat or instruction template.

Both read jsonl, csv, tsv, parquet or arrow records (``format: auto`` goes by the file suffix),
map the chosen fields onto fixed placeholder names, and render each record with a template. Any
other field of the record can be used in a template too. Ids are ``<name>:<file>:<line or row>``
unless ``id_field`` is set; records lacking a field the template needs are ``missing_field``
rejects.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from pydantic import Field, field_validator

from corpuskit.datapaths import display_path
from corpuskit.errors import InputError
from corpuskit.sources.records import RecordItem, iter_delimited, iter_jsonl, table_batches
from corpuskit.sources.render import RecordRenderer, check_template
from corpuskit.sources.tabular import TabularSource, _batch_rows, emit_records
from corpuskit.sources.textio import file_sha256
from corpuskit.step import RunContext

Format = Literal["auto", "jsonl", "csv", "tsv", "parquet", "arrow"]
SUFFIXES = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv"}
SUFFIXES |= {".parquet": "parquet", ".arrow": "arrow", ".feather": "arrow"}
CHAT_TEMPLATE = "User: {question}\nAssistant: {answer}"
INSTRUCTION_TEMPLATE = "### Instruction:\n{instruction}\n\n### Response:\n{output}"
INSTRUCTION_INPUT_TEMPLATE = (
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n{output}"
)


def file_format(path: Path, fmt: str) -> str:
    """The record format of a file: ``fmt`` unless auto, else from the suffix (before .gz etc.)."""
    if fmt != "auto":
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    for suffix in reversed(suffixes):
        if suffix in SUFFIXES:
            return SUFFIXES[suffix]
    raise InputError(
        f"{path.name}: cannot tell the record format from the suffix",
        hint="set format: jsonl, csv, tsv, parquet or arrow",
    )


def read_records(path: Path, shown: str, fmt: str) -> Iterator[RecordItem]:
    """Located records of any supported format (parquet/arrow rows are 0-based)."""
    if fmt == "jsonl":
        return iter_jsonl(path, shown)
    if fmt in ("csv", "tsv"):
        delimiter = "," if fmt == "csv" else "\t"
        return iter_delimited(path, shown, delimiter=delimiter, quoting=fmt == "csv", header=True)
    return _batch_rows(table_batches(path, fmt, None), 0)


class _TemplatedRecords(TabularSource):
    """Reads records of any format and renders them with a template over mapped fields."""

    format: Format = Field(default="auto", description="record format; auto: from the suffix")
    text_fields: list[str] = Field(default=[], description="unused: the template makes the text")

    def field_map(self) -> dict[str, str]:
        """Placeholder name -> record field."""
        raise NotImplementedError

    def choose_template(self, record: Mapping[str, Any]) -> str:
        raise NotImplementedError

    def read_partition(self, key: str, ctx: RunContext) -> Iterator[pa.Table]:
        path = Path(key)
        shown = display_path(path, ctx.data_root)
        ctx.record_input(shown, file_sha256(path))
        base = {**self.base_meta(), "file": shown}
        items = self._mapped(read_records(path, shown, file_format(path, self.format)))
        renderer = RecordRenderer(
            (),
            id_field=self.id_field,
            meta_fields=self.meta_fields,
            template_for=self.choose_template,
        )
        yield from emit_records(self.label, items, shown, renderer, base, ctx)

    def _mapped(self, items: Iterator[RecordItem]) -> Iterator[RecordItem]:
        mapping = self.field_map()
        for item in items:
            if item.record is None:
                yield item
                continue
            record = dict(item.record)
            for name, source_field in mapping.items():
                if name != source_field:
                    record[name] = item.record.get(source_field)
            yield item._replace(record=record)


class QASource(_TemplatedRecords, kind="qa"):
    """Question-answer records rendered as a dialogue turn pair.

    Placeholders: ``{question}``, ``{answer}``, ``{context}`` (when ``context_field`` is set), and
    any field of the record. Default template: ``User: {question}\\nAssistant: {answer}``.
    """

    question_field: str = Field(default="question", description="field holding the question")
    answer_field: str = Field(default="answer", description="field holding the answer")
    context_field: str | None = Field(
        default=None, description="field holding a context passage ({context}), if any"
    )
    template: str | None = Field(
        default=CHAT_TEMPLATE, description="rendering of a record with {question}, {answer}, ..."
    )

    def field_map(self) -> dict[str, str]:
        mapping = {"question": self.question_field, "answer": self.answer_field}
        if self.context_field:
            mapping["context"] = self.context_field
        return mapping

    def choose_template(self, record: Mapping[str, Any]) -> str:
        return self.template or CHAT_TEMPLATE


class InstructionSource(_TemplatedRecords, kind="instruction"):
    """Instruction-response records (Alpaca-style by default).

    Placeholders: ``{instruction}``, ``{input}``, ``{output}`` and any record field. Records with a
    non-empty input use ``input_template``, the others ``template``.
    """

    instruction_field: str = Field(default="instruction", description="field with the instruction")
    input_field: str | None = Field(default="input", description="optional field with an input")
    output_field: str = Field(default="output", description="field with the response")
    template: str | None = Field(
        default=INSTRUCTION_TEMPLATE, description="rendering of a record without input"
    )
    input_template: str = Field(
        default=INSTRUCTION_INPUT_TEMPLATE, description="rendering of a record with an input"
    )

    @field_validator("input_template")
    @classmethod
    def _valid_input_template(cls, value: str) -> str:
        check_template(value)
        return value

    def field_map(self) -> dict[str, str]:
        mapping = {"instruction": self.instruction_field, "output": self.output_field}
        if self.input_field:
            mapping["input"] = self.input_field
        return mapping

    def choose_template(self, record: Mapping[str, Any]) -> str:
        has_input = self.input_field is not None and str(record.get("input") or "").strip()
        return self.input_template if has_input else (self.template or INSTRUCTION_TEMPLATE)
