"""Giving memory back between build phases, so that a build's peak stays near one block's worth.

Two things make a build's resident memory (RSS) grow past what it is using:

- Pages of a memory-mapped file that were touched count in RSS for as long as the mapping lives.
  Stage 2 reads the staged partition files zero-copy, so every page that selection or shard
  writing touched would stay counted until the build ends. ``StagedFiles`` maps them with
  Python's ``mmap``, whose ``madvise(MADV_DONTNEED)`` drops the touched pages from this process
  (a later access reads them again from the page cache) while the Arrow buffers that point into
  the mapping stay valid.
- Allocators keep freed memory for reuse: Arrow's pool and glibc's malloc (numpy and Python
  bytes). ``release_free_memory`` hands it back after each stage-1 task. Arrow's default pool
  (mimalloc) keeps ~50 MiB more than the C allocator does after a block (measured on the
  issue-#3 benchmark at equal speed), so a build allocates from the system pool unless the user
  chose a pool with ``ARROW_DEFAULT_MEMORY_POOL``.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import pyarrow as pa


class StagedFiles:
    """Arrow IPC files mapped so that their touched pages can be released (see module doc)."""

    def __init__(self) -> None:
        self._maps: list[mmap.mmap] = []

    def read(self, path: str) -> pa.Table:
        """The whole file as a table whose buffers point into the mapping (zero-copy)."""
        with open(path, "rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        self._maps.append(mapped)
        return pa.ipc.open_file(pa.py_buffer(mapped)).read_all()

    def release(self) -> None:
        """Drop every touched page from this process; the tables read stay usable."""
        if not hasattr(mmap, "MADV_DONTNEED"):  # e.g. Windows: nothing to give back this way
            return
        for mapped in self._maps:
            mapped.madvise(mmap.MADV_DONTNEED)


def release_free_memory() -> None:
    """Return memory that Arrow's pool and the C allocator hold free to the OS."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim`` (Linux), or None where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:  # the C library is already loaded: look the symbol up in this process
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:
        return None


@contextmanager
def build_memory_pool() -> Iterator[None]:
    """Arrow allocates from the system pool inside the block (see module doc), then as before."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        yield
        return
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)
