"""A deliberately slow filter, importable as ``tests.core.slow_steps:SlowFilter`` from a subprocess."""

from __future__ import annotations

import time

from corpuskit import Document, Filter


class SlowFilter(Filter):
    """Keeps everything, slowly, so a test can kill a build midway."""

    def keep(self, doc: Document) -> bool:
        time.sleep(0.002)
        return True
