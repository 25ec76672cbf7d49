"""The ``paraphrase_pairs`` source: sentence pairs (MRPC, QQP, PAWS, generic) rendered as text.

Each pair becomes one document rendered with ``template`` over ``{sentence1}``, ``{sentence2}``
and ``{label}``; the paraphrase study concatenates the two sentences (the default). The pair id
and label go into meta. With ``positives_only``, non-paraphrase pairs are rejected with reason
``negative_pair`` (so the ledger still shows every pair read).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import orjson
import pyarrow as pa
from pydantic import Field, field_validator

from corpuskit.datapaths import display_path, expand_paths
from corpuskit.document import dump_meta
from corpuskit.sources.base import Source
from corpuskit.sources.emit import MISSING_FIELD, Emitter
from corpuskit.sources.records import RecordItem, iter_delimited, iter_jsonl
from corpuskit.sources.render import RecordProblemError, check_template, field_text
from corpuskit.sources.textio import file_sha256, open_binary
from corpuskit.step import CheckContext, RunContext

NEGATIVE_PAIR = "negative_pair"
MRPC_COLUMNS = {"sentence1": "#1 String", "sentence2": "#2 String", "label": "Quality"}
QQP_COLUMNS = ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"]
LICENSES = {
    "mrpc": ("Microsoft Research Paraphrase Corpus terms (research use)", True),
    "qqp": ("Quora Question Pairs terms (non-commercial)", True),
    "paws": ("PAWS (Google): free use with attribution", False),
}


class ParaphrasePairsSource(Source, kind="paraphrase_pairs"):
    """Paraphrase pairs from MRPC (MSRP TSV), QQP (GLUE TSV), PAWS TSV, or jsonl/csv/tsv.

    Formats: ``mrpc`` (BOM + header ``Quality #1 ID #2 ID #1 String #2 String``), ``qqp``
    (``id qid1 qid2 question1 question2 is_duplicate``, header optional), ``paws``
    (``id sentence1 sentence2 label`` with header), ``jsonl``/``csv``/``tsv`` (fields named by
    ``sentence1_field`` etc.). Ids are ``<name>:<file>:<line>``. Rejects: ``malformed_record``
    (wrong number of columns, not JSON), ``missing_field``, ``decode_error``, ``negative_pair``.
    """

    paths: list[str] = Field(
        description="files or glob patterns; relative ones are under the data root"
    )
    format: Literal["mrpc", "qqp", "paws", "jsonl", "csv", "tsv"] = Field(
        description="file layout (see the class docstring)"
    )
    sentence1_field: str = Field(default="sentence1", description="first sentence (jsonl/csv/tsv)")
    sentence2_field: str = Field(default="sentence2", description="second sentence (jsonl/csv/tsv)")
    label_field: str | None = Field(
        default="label", description="label field (jsonl/csv/tsv), if any"
    )
    id_field: str | None = Field(default="id", description="pair id field (jsonl/csv/tsv), if any")
    positives_only: bool = Field(default=False, description="keep only pairs labelled paraphrase")
    positive_labels: list[str] = Field(
        default=["1", "true", "yes"], description="label values (lower case) that mean paraphrase"
    )
    template: str = Field(
        default="{sentence1} {sentence2}",
        description="rendering of a pair: {sentence1}, {sentence2}, {label}",
    )

    @field_validator("template")
    @classmethod
    def _valid_template(cls, value: str) -> str:
        check_template(value)
        return value

    @classmethod
    def default_license(cls, params: dict[str, Any]) -> tuple[str, bool] | None:
        return LICENSES.get(str(params.get("format")))

    def input_files(self, ctx: CheckContext) -> list[Path]:
        return expand_paths(self.paths, ctx.data_root, what=f"source {self.label}")

    def partitions(self, ctx: CheckContext) -> list[str]:
        return [str(p) for p in self.input_files(ctx)]

    def _records(self, path: Path, shown: str) -> Iterator[RecordItem]:
        if self.format == "jsonl":
            return iter_jsonl(path, shown)
        if self.format == "csv":
            return iter_delimited(path, shown, delimiter=",", quoting=True, header=True)
        if self.format == "qqp":
            header = _starts_with(path, b"id\t")
            return iter_delimited(
                path, shown, delimiter="\t", quoting=False, header=header, columns=QQP_COLUMNS
            )
        # mrpc, paws, tsv: GLUE-style TSVs carry bare quotes, so quoting is off.
        return iter_delimited(path, shown, delimiter="\t", quoting=False, header=True)

    def _pair(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record as {sentence1, sentence2, label, id} (label/id may be None)."""
        if self.format == "mrpc":
            pair_id = f"{record.get('#1 ID')}-{record.get('#2 ID')}"
            return {**{k: record.get(v) for k, v in MRPC_COLUMNS.items()}, "id": pair_id}
        if self.format == "qqp":
            return {
                "sentence1": record.get("question1"),
                "sentence2": record.get("question2"),
                "label": record.get("is_duplicate"),
                "id": record.get("id"),
            }
        return {
            "sentence1": record.get(self.sentence1_field),
            "sentence2": record.get(self.sentence2_field),
            "label": record.get(self.label_field) if self.label_field else None,
            "id": record.get(self.id_field) if self.id_field else None,
        }

    def read_partition(self, key: str, ctx: RunContext) -> Iterator[pa.Table]:
        path = Path(key)
        shown = display_path(path, ctx.data_root)
        ctx.record_input(shown, file_sha256(path))
        base = {**self.base_meta(), "file": shown}
        out = Emitter(self.label, ctx)
        prefix = f"{self.label}:{shown}:"
        positives = {p.lower() for p in self.positive_labels}
        for item in self._records(path, shown):
            doc_id = prefix + str(item.position)
            if item.record is None:
                out.reject(
                    doc_id, item.raw, {**base, "line": item.position}, item.reason, item.detail
                )
                continue
            pair = self._pair(item.record)
            meta = {**base, "pair_id": pair["id"], "label": _label_value(pair["label"])}
            raw = orjson.dumps(item.record, default=str).decode()
            try:
                values = {k: field_text(pair, k) for k in ("sentence1", "sentence2")}
                values["label"] = "" if pair["label"] is None else str(pair["label"])
                if self.positives_only and pair["label"] is None:
                    raise RecordProblemError(MISSING_FIELD, "positives_only needs a label")
            except RecordProblemError as problem:
                out.reject(
                    doc_id, raw, {**meta, "line": item.position}, problem.reason, problem.detail
                )
                continue
            if self.positives_only and values["label"].strip().lower() not in positives:
                out.reject(doc_id, raw, meta, NEGATIVE_PAIR)
                continue
            out.add(doc_id, self.template.format_map(values), dump_meta(meta))
            if out.full:
                yield out.take()
        yield from out.finish()


def _label_value(label: Any) -> Any:
    """Labels as ints when they are integral ("1" -> 1), else as given."""
    if isinstance(label, str) and label.strip().lstrip("-").isdigit():
        return int(label)
    return label


def _starts_with(path: Path, prefix: bytes) -> bool:
    """Whether the file's first line starts with ``prefix`` (after a UTF-8 BOM)."""
    with open_binary(path) as handle:
        head = handle.read(len(prefix) + 3)
    return head.removeprefix(b"\xef\xbb\xbf").startswith(prefix)
