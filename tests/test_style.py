"""House rules that a test can check: module size and the dependency direction."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODULES = sorted(
    p for pkg in ("corpuskit", "trainers") for p in (REPO / pkg).rglob("*.py") if p.is_file()
)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(REPO)))
def test_module_is_at_most_400_lines(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= 400, f"{path.relative_to(REPO)} has {lines} lines; split it by responsibility"


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if p.relative_to(REPO).parts[0] == "corpuskit"],
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_corpuskit_never_imports_trainers_and_not_torch_at_module_level(path: Path) -> None:
    """corpuskit must not depend on trainers at all, nor on torch to import.

    An optional backend (e.g. a local transformers generator) may import torch inside the function
    that needs it, so that ``import corpuskit`` never loads torch.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        for name in _imported(node):
            assert name.split(".")[0] != "trainers", f"{path.name} imports {name}"
    for node in tree.body:
        for name in _imported(node):
            assert name.split(".")[0] != "torch", f"{path.name} imports {name} at module level"


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module]
    return []


def test_importing_every_corpuskit_module_does_not_load_torch() -> None:
    import subprocess
    import sys

    modules = [
        ".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for p in MODULES
        if p.relative_to(REPO).parts[0] == "corpuskit" and p.name != "__main__.py"
    ]
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    code += "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
