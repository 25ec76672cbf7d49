"""Word-list files for blocklists and vocabulary coverage, and the data root they resolve under.

A word list is a UTF-8 text file with one word or phrase per line; blank lines and lines starting
with ``#`` are skipped. A line may carry a value after a tab or comma (``word<TAB>3.5``, e.g. an
age of acquisition), which ``max_value`` can select on. A relative path is taken under the data
root (the build's, or ``CORPUSKIT_DATA`` / ``../shared/data`` outside a build).
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

import pyarrow as pa

from corpuskit.datapaths import find_data_root, resolve_pattern
from corpuskit.errors import InputError
from corpuskit.filters.base import Filter
from corpuskit.step import CheckContext, RunContext

# Set by ``FileFilter.process`` so the block path can resolve relative files like the build does.
DATA_ROOT: ContextVar[Path | None] = ContextVar("corpuskit_filter_data_root", default=None)


def resolve_word_list(path: str, data_root: Path | None = None) -> Path:
    """Absolute path of a word-list file (relative paths live under the data root)."""
    if not os.path.isabs(os.path.expanduser(path)):
        data_root = data_root or DATA_ROOT.get() or find_data_root()
    resolved = Path(resolve_pattern(path, data_root))
    if not resolved.is_file():
        raise InputError(
            f"word list {path!r} not found (looked for {resolved})",
            hint="give an absolute path, or one relative to the data root",
        )
    return resolved


def load_word_list(
    path: str,
    *,
    lower: bool,
    values: bool = False,
    max_value: float | None = None,
    data_root: Path | None = None,
) -> frozenset[str]:
    """Entries of a word-list file.

    Args:
        path: the file (relative paths are under the data root).
        lower: lower-case the entries.
        values: lines may hold ``word<TAB or comma>value``; the value is cut off.
        max_value: keep only entries whose value is at most this (implies ``values``).
        data_root: the data root (default: the build's, else the usual search).
    """
    resolved = resolve_word_list(path, data_root)
    values = values or max_value is not None
    return _load(str(resolved), resolved.stat().st_mtime_ns, lower, values, max_value)


@lru_cache(maxsize=32)
def _load(
    path: str, _mtime: int, lower: bool, values: bool, max_value: float | None
) -> frozenset[str]:
    entries = set()
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = re.split(r"[\t,]", line, maxsplit=1) if values else [line]
        word, value = parts[0], parts[1] if len(parts) > 1 else ""
        if max_value is not None:
            try:
                if float(value) > max_value:
                    continue
            except ValueError:
                raise InputError(
                    f"{path}:{number}: expected 'word<TAB>value', got {line!r}",
                    hint="max_value needs a numeric value after each word",
                ) from None
        word = word.strip()
        entries.add(word.lower() if lower else word)
    return frozenset(entries)


class FileFilter(Filter):
    """A filter that reads a file: checks it exists, resolves it under the build's data root."""

    def word_list_path(self) -> str | None:
        """The file this filter reads (None when it has none)."""
        return None

    def check(self, ctx: CheckContext) -> None:
        path = self.word_list_path()
        if path is not None:
            resolve_word_list(path, ctx.data_root)

    def process(self, block: pa.Table, ctx: RunContext, label: str) -> pa.Table:
        token = DATA_ROOT.set(ctx.data_root)
        try:
            return super().process(block, ctx, label)
        finally:
            DATA_ROOT.reset(token)
