"""CHILDES CHAT (.cha) transcripts: main tiers, participants, and cleaning of CHAT codes.

Only main tiers (``*SPK:\\t...``) become utterances; dependent tiers (``%mor``, ``%gra``, ...)
and headers (``@...``) are skipped, and continuation lines (starting with a tab) are joined to
their tier. A main tier of a speaker not declared in ``@Participants``, or a line that is none of
these, is an unknown tier: a ``malformed_record`` reject located by file and line.

Cleaning follows the CHAT manual's transcription codes, keeping what was said:

- ``[...]`` annotations (``[/]``, ``[//]``, ``[+ IMIT]``, ``[= ...]``, ``[: ...]``, ``[?]``) go;
- ``<`` ``>`` scope brackets go, their words stay; ``(th)at`` -> ``that`` (omitted sounds back);
- pauses ``(.)``, ``(..)``, ``(1.5)``, unintelligible ``xxx``/``yyy``/``www``, omitted words
  ``0word``, events ``&=laughs``, fragments ``&+fr``/``&~``, time bullets go;
- fillers ``&-uh`` -> ``uh``; special forms ``word@c`` -> ``word``; compounds ``a_lot`` ->
  ``a lot``; prolongation and pause marks inside words go (``m:hm`` -> ``mhm``);
- utterance linkers and terminators (``+...``, ``+/.``, ``+<``) go; the final ``.``/``?``/``!``
  stays, with the space before it, as in the transcript.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_BULLET = re.compile("\x15[^\x15]*\x15")
_BRACKETS = re.compile(r"\[[^\]]*\]")
_PAUSE = re.compile(r"\(\d*\.+\d*\)")
_SCOPE = re.compile(r"[<>]")
_OMITTED_SOUND = re.compile(r"\(([^()\s]*)\)")
_TOKEN_DROP = re.compile(
    r"^(?:xxx|yyy|www|xx|yy|0\S*|&[=+~*]\S*|&\{\S*|&\}\S*|\+\S*|\[\S*|\]|\S*\u2021|,,|\u201e)$"
)
_FILLER = re.compile(r"^&-(\S+)$")
_SPECIAL_FORM = re.compile(r"^([^@\s]+)@\S*$")
_TERMINATORS = (".", "?", "!")


def clean_chat(text: str) -> str:
    """A main-tier utterance without CHAT codes (see the module docstring for the rules)."""
    text = _BULLET.sub(" ", text)
    text = _BRACKETS.sub(" ", text)
    text = _PAUSE.sub(" ", text)
    text = _SCOPE.sub(" ", text)
    text = _OMITTED_SOUND.sub(r"\1", text)
    words: list[str] = []
    for token in text.split():
        if token in _TERMINATORS:
            words.append(token)
            continue
        filler = _FILLER.match(token)
        if filler:
            token = filler.group(1)
        elif _TOKEN_DROP.match(token):
            continue
        special = _SPECIAL_FORM.match(token)
        if special:
            token = special.group(1)
        # ``_``/``+`` join compounds; ``:`` (lengthening) and ``^`` (pause) sit inside words.
        token = token.replace("_", " ").replace("+", " ").replace(":", "").replace("^", "").strip()
        if token:
            words.append(token)
    return " ".join(words)


@dataclass(frozen=True)
class ChatLine:
    """One logical CHAT line: the tier (``*MOT``, ``%mor``, ``@ID``), its text and first line."""

    line: int
    tier: str
    text: str


def chat_lines(lines: Iterator[tuple[int, str]]) -> Iterator[ChatLine]:
    """Logical lines from (line number, text) pairs: continuations joined, blank lines skipped.

    An unrecognised line gets the empty tier ``""``.
    """
    current: ChatLine | None = None
    for number, raw in lines:
        line = raw.rstrip("\r\n")
        if line.startswith("\t") and current is not None:
            current = ChatLine(current.line, current.tier, f"{current.text} {line.strip()}")
            continue
        if current is not None:
            yield current
            current = None
        if not line.strip():
            continue
        if line[0] in "*%":
            tier, sep, rest = line.partition(":")
            current = ChatLine(number, tier, rest.strip()) if sep else ChatLine(number, "", line)
        elif line[0] == "@":
            head, _, rest = line.partition("\t")
            current = ChatLine(number, head.rstrip(":"), rest.strip())
        else:
            current = ChatLine(number, "", line)
    if current is not None:
        yield current


def parse_participants(text: str) -> dict[str, str]:
    """``CHI Eve Target_Child , MOT Sue Mother`` -> ``{"CHI": "Target_Child", "MOT": "Mother"}``."""
    roles: dict[str, str] = {}
    for entry in text.split(","):
        parts = entry.split()
        if parts:
            roles[parts[0]] = parts[-1] if len(parts) > 1 else ""
    return roles
