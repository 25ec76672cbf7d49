"""Keep pyarrow from importing pandas into a build that never meets a pandas object.

pyarrow's pandas shim imports pandas the first time a ``pa.array``/``pa.table``/``pa.scalar``
call asks "is this a pandas object?", even when nothing in the process uses pandas. That import
costs 30-50 MiB of resident memory (measured: RSS 55 -> 107 MiB after ``pa.array(["a"])`` in a
fresh process), as much as a whole build's working set. But while pandas is not imported, no
pandas object can exist, so "no" is the exact answer and needs no import.

``defer_pandas()`` lets the shim ask once while pandas cannot be imported, so it records "no
pandas" (pyarrow's own code path for a machine without pandas), and arms an import hook: the
moment anything imports pandas, the shim is told, so ``pa.table(df)`` and friends see pandas
objects from then on. Calls that need pandas to work at all (``Table.to_pandas``) import it
themselves as before. Nothing changes when pandas is already imported.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

import pyarrow as pa

_lock = threading.Lock()
_deferred = False


def defer_pandas() -> bool:
    """Let pyarrow answer its pandas checks without importing pandas (see module doc).

    Returns True when pandas stays unimported for now (idempotent), False when it already is.
    """
    global _deferred
    with _lock:
        if "pandas" in sys.modules:
            return False
        if _deferred:
            return True
        blocker = _RefusePandas()
        sys.meta_path.insert(0, blocker)
        try:
            # Both shapes of call consult the shim with "import if you can": it records the
            # ImportError and asks no more until a call that needs pandas imports it for real.
            pa.array(["x"])
            pa.table({"x": [0]})
        finally:
            sys.meta_path.remove(blocker)
        if "pandas" not in sys.modules:  # pyarrow went elsewhere for pandas: leave it alone
            sys.meta_path.insert(0, _TellPyarrowOnImport())
            _deferred = True
        return _deferred


def _is_pandas(name: str) -> bool:
    return name == "pandas" or name.startswith("pandas.")


class _RefusePandas(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if _is_pandas(fullname):
            raise ImportError(f"{fullname} is deferred while pyarrow probes for it")
        return None


class _TellPyarrowOnImport(importlib.abc.MetaPathFinder):
    """Wraps the loader of the first ``import pandas`` so pyarrow learns of it once it ran."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != "pandas":
            return None
        sys.meta_path.remove(self)  # one import of pandas, then out of the way for good
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenTellPyarrow(spec.loader)
        return spec


class _ThenTellPyarrow(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader) -> None:
        self.inner = inner

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        global _deferred
        self.inner.exec_module(module)
        # Any shim property that "needs pandas" makes the shim import (now: look up) pandas and
        # switch its answers back to real pandas checks.
        _ = pa.lib._pandas_api.version
        _deferred = False
