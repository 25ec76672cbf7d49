"""Giving memory back between build phases, so that a build's peak stays near one block's worth.

Three things make a build's resident memory (RSS) grow past what it is using:

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
- Some Arrow code allocates from its C++ default pool whatever pyarrow was told: the IPC writer's
  message buffers, ``Table.group_by``, ``to_numpy`` conversions that copy. mimalloc backs its
  arena with transparent huge pages, so a few hundred bytes made 2 MiB resident per huge page
  (4 MiB over the issue-#3 benchmark). A build therefore turns THP off for the process while it
  runs (Linux ``prctl``), and steers clear of the other calls (``corpuskit.tally``).
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
        table = pa.ipc.open_file(pa.py_buffer(mapped)).read_all()
        _drop_pages(mapped)  # reading parsed the header of every record batch
        return table

    def release(self) -> None:
        """Drop every touched page from this process; the tables read stay usable."""
        for mapped in self._maps:
            _drop_pages(mapped)


def _drop_pages(mapped: mmap.mmap) -> None:
    if hasattr(mmap, "MADV_DONTNEED"):  # not on e.g. Windows: nothing to give back this way
        mapped.madvise(mmap.MADV_DONTNEED)


def release_free_memory() -> None:
    """Return memory that Arrow's pool and the C allocator hold free to the OS."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _malloc_trim() -> Any:
    """glibc's ``malloc_trim`` (Linux), or None where the C library has none."""
    libc = _libc()
    return getattr(libc, "malloc_trim", None) if libc is not None else None


@cache
def _libc() -> Any:
    """The C library of this process on Linux, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:  # the C library is already loaded: look its symbols up in this process
        return ctypes.CDLL(None)
    except OSError:
        return None


@contextmanager
def build_memory_pool() -> Iterator[None]:
    """Inside the block Arrow allocates from the system pool and no memory is backed by
    transparent huge pages (see module doc); both are restored after it."""
    with _no_huge_pages():
        if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
            yield
            return
        previous = pa.default_memory_pool()
        pa.set_memory_pool(pa.system_memory_pool())
        try:
            yield
        finally:
            pa.set_memory_pool(previous)


_PR_SET_THP_DISABLE, _PR_GET_THP_DISABLE = 41, 42


@contextmanager
def _no_huge_pages() -> Iterator[None]:
    """Linux's per-process "no transparent huge pages" flag, set for the block and then restored."""
    libc = _libc()
    prctl = getattr(libc, "prctl", None) if libc is not None else None
    if prctl is None:
        yield
        return
    previous = prctl(_PR_GET_THP_DISABLE, 0, 0, 0, 0)
    changed = previous == 0 and prctl(_PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0
    try:
        yield
    finally:
        if changed:
            prctl(_PR_SET_THP_DISABLE, 0, 0, 0, 0)
