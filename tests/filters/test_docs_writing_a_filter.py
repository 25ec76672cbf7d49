"""The code blocks of docs/writing-a-filter.md run, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "writing-a-filter.md"


def test_writing_a_filter_examples_run(chdir_tmp: Path) -> None:
    """As copied into a fresh script: no names are given to the blocks, output goes to ./out."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 6
    namespace: dict[str, object] = {"__name__": "writing_a_filter"}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    assert (chdir_tmp / "out" / "questions-demo").is_dir()
