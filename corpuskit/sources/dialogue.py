"""The ``dialogue`` source: Switchboard (SwDA) and CHILDES CHAT transcripts as dialogue text.

Each utterance is rendered with a turn template (BabyLM's Switchboard form is ``A:\\tutterance``)
and documents are one utterance, ``turns`` consecutive utterances, or a whole dialogue. Speaker
codes, roles and (Switchboard) dialogue-act tags are kept in meta.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from pydantic import Field, field_validator

from corpuskit.datapaths import display_path, expand_paths
from corpuskit.document import dump_meta
from corpuskit.sources.base import Source
from corpuskit.sources.chat import chat_lines, clean_chat, parse_participants
from corpuskit.sources.emit import DECODE_ERROR, MALFORMED_RECORD, Emitter
from corpuskit.sources.render import check_template
from corpuskit.sources.textio import decode_lines, file_sha256, iter_line_chunks
from corpuskit.step import CheckContext, RunContext

EXCLUDED_SPEAKER = "excluded_speaker"
TEMPLATES = {"switchboard": "{speaker}:\t{text}", "chat": "*{speaker}:\t{text}"}
LICENSES = {
    "switchboard": "CC-BY-NC-SA-3.0 (SwDA, C. Potts)",
    "chat": "CC-BY-NC-SA-3.0 (TalkBank/CHILDES)",
}


@dataclass(frozen=True)
class Utterance:
    """One utterance, or (``reason`` set) one line that is not a usable utterance."""

    line: int
    speaker: str
    text: str
    role: str = ""
    tag: str = ""
    reason: str = ""
    detail: str = ""
    boundary: bool = False  # a dialogue boundary precedes it (blank line in Switchboard)


@dataclass
class _Group:
    lines: list[int] = field(default_factory=list)
    turns: list[str] = field(default_factory=list)
    speakers: dict[str, str] = field(default_factory=dict)


class DialogueSource(Source, kind="dialogue"):
    """Dialogue transcripts: Switchboard ``SPEAKER|utterance|TAG`` lines or CHILDES ``.cha``.

    Ids are ``<name>:<file>:<first line>``. Meta: ``speaker``, ``role``, ``tag`` (utterances) or
    ``speakers`` (code -> role) and ``turns`` (groups). Rejects: ``malformed_record`` (a
    Switchboard line without three ``|`` fields, an unknown CHAT tier), ``decode_error``,
    ``excluded_speaker`` (utterances removed by ``exclude_speakers``/``exclude_child``).
    """

    paths: list[str] = Field(
        description="files or glob patterns; relative ones are under the data root"
    )
    format: Literal["auto", "switchboard", "chat"] = Field(
        default="auto", description="transcript format; auto: .cha is chat, else switchboard"
    )
    group: Literal["utterance", "turns", "dialogue"] = Field(
        default="utterance",
        description="one document per utterance, per `turns` utterances, or per dialogue "
        "(a file; in Switchboard files also a blank-line-separated block)",
    )
    turns: int = Field(default=10, ge=1, description="utterances per document for group: turns")
    turn_template: str | None = Field(
        default=None,
        description="rendering of one utterance with {speaker}, {role}, {text} "
        "(default: '{speaker}:\\t{text}' for switchboard, '*{speaker}:\\t{text}' for chat)",
    )
    exclude_speakers: list[str] = Field(
        default=[], description="speaker codes whose utterances are left out (e.g. [CHI])"
    )
    exclude_child: bool = Field(
        default=False, description="leave out the target child's speech (CHAT role Target_Child)"
    )
    clean: bool = Field(default=True, description="remove CHAT transcription codes")

    @field_validator("turn_template")
    @classmethod
    def _valid_template(cls, value: str | None) -> str | None:
        return check_template(value)

    @classmethod
    def default_license(cls, params: dict[str, Any]) -> tuple[str, bool] | None:
        fmt = params.get("format", "auto")
        if fmt == "auto":
            paths = params.get("paths") or []
            fmts = {"chat" if str(p).endswith(".cha") else "switchboard" for p in paths}
            fmt = fmts.pop() if len(fmts) == 1 else None
        return (LICENSES[fmt], True) if fmt in LICENSES else None

    def input_files(self, ctx: CheckContext) -> list[Path]:
        return expand_paths(self.paths, ctx.data_root, what=f"source {self.label}")

    def partitions(self, ctx: CheckContext) -> list[str]:
        return [str(p) for p in self.input_files(ctx)]

    def file_format(self, path: Path) -> str:
        if self.format != "auto":
            return self.format
        return "chat" if path.suffix.lower() == ".cha" else "switchboard"

    def read_partition(self, key: str, ctx: RunContext) -> Iterator[pa.Table]:
        path = Path(key)
        shown = display_path(path, ctx.data_root)
        ctx.record_input(shown, file_sha256(path))
        fmt = self.file_format(path)
        template = self.turn_template or TEMPLATES[fmt]
        base = {**self.base_meta(), "file": shown, "format": fmt}
        prefix = f"{self.label}:{shown}:"
        out = Emitter(self.label, ctx)
        group = _Group()
        metas: dict[tuple[str, str, str], str] = {}  # few distinct (speaker, role, tag): dump once
        lines = _decoded_lines(path, shown, out, prefix, base)
        utterances = _chat(lines, self.clean) if fmt == "chat" else _switchboard(lines)
        for utt in utterances:
            if utt.reason:
                out.reject(
                    prefix + str(utt.line),
                    utt.text,
                    {**base, "line": utt.line},
                    utt.reason,
                    utt.detail,
                )
                continue
            if self._excluded(utt):
                meta = _utterance_meta(base, utt)
                out.reject(prefix + str(utt.line), utt.text, meta, EXCLUDED_SPEAKER)
                continue
            rendered = template.format_map(
                {"speaker": utt.speaker, "role": utt.role, "text": utt.text}
            )
            if self.group == "utterance":
                meta_key = (utt.speaker, utt.role, utt.tag)
                if meta_key not in metas:
                    metas[meta_key] = dump_meta(_utterance_meta(base, utt))
                out.add(prefix + str(utt.line), rendered, metas[meta_key])
            else:
                if utt.boundary and self.group == "dialogue":
                    self._flush(group, out, prefix, base)
                    group = _Group()
                group.lines.append(utt.line)
                group.turns.append(rendered)
                group.speakers.setdefault(utt.speaker, utt.role)
                if self.group == "turns" and len(group.turns) >= self.turns:
                    self._flush(group, out, prefix, base)
                    group = _Group()
            if out.full:
                yield out.take()
        self._flush(group, out, prefix, base)
        yield from out.finish()

    def _excluded(self, utt: Utterance) -> bool:
        if utt.speaker in self.exclude_speakers:
            return True
        return self.exclude_child and utt.role == "Target_Child"

    @staticmethod
    def _flush(group: _Group, out: Emitter, prefix: str, base: dict[str, Any]) -> None:
        if group.turns:
            meta = {**base, "speakers": group.speakers, "turns": len(group.turns)}
            out.add(prefix + str(group.lines[0]), "\n".join(group.turns), meta)


def _utterance_meta(base: dict[str, Any], utt: Utterance) -> dict[str, Any]:
    meta = {**base, "speaker": utt.speaker}
    if utt.role:
        meta["role"] = utt.role
    if utt.tag:
        meta["tag"] = utt.tag
    return meta


def _decoded_lines(
    path: Path, shown: str, out: Emitter, prefix: str, base: dict[str, Any]
) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line; lines that are not UTF-8 become decode_error rejects."""
    for chunk in iter_line_chunks(path, shown):
        texts, bad = decode_lines(chunk)
        bad_offsets = {offset for offset, _ in bad}
        for offset, text in bad:
            line = chunk.first_line + offset
            out.reject(prefix + str(line), text, {**base, "line": line}, DECODE_ERROR)
        for offset, text in enumerate(texts):
            if offset not in bad_offsets:
                yield chunk.first_line + offset, text


def _switchboard(lines: Iterator[tuple[int, str]]) -> Iterator[Utterance]:
    """``SPEAKER|utterance|TAG`` lines; a blank line separates dialogues."""
    boundary = True
    for number, raw in lines:
        line = raw.rstrip("\r")
        if not line.strip():
            boundary = True
            continue
        parts = line.split("|")
        if len(parts) != 3 or not parts[0].strip():
            yield Utterance(
                number, "", line, reason=MALFORMED_RECORD, detail="expected SPEAKER|utterance|TAG"
            )
            continue
        yield Utterance(
            number, parts[0].strip(), parts[1].strip(), tag=parts[2].strip(), boundary=boundary
        )
        boundary = False


def _chat(lines: Iterator[tuple[int, str]], clean: bool) -> Iterator[Utterance]:
    """Main tiers of a CHAT file, with speaker roles from ``@Participants``."""
    roles: dict[str, str] = {}
    first = True
    for item in chat_lines(lines):
        if item.tier == "@Participants":
            roles.update(parse_participants(item.text))
        elif item.tier.startswith("*"):
            speaker = item.tier[1:]
            if speaker not in roles:
                yield Utterance(
                    item.line,
                    speaker,
                    f"{item.tier}:\t{item.text}",
                    reason=MALFORMED_RECORD,
                    detail=f"unknown tier {item.tier}: speaker not in @Participants",
                )
                continue
            text = clean_chat(item.text) if clean else item.text
            yield Utterance(item.line, speaker, text, role=roles[speaker], boundary=first)
            first = False
        elif not item.tier.startswith(("%", "@")):
            yield Utterance(
                item.line,
                "",
                item.text,
                reason=MALFORMED_RECORD,
                detail="unknown tier: not a header (@), main (*) or dependent (%) tier",
            )
