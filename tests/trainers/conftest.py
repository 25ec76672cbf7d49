"""Shared fixtures: a tiny build of toy-grammar documents and one finished tiny run per arch."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import corpuskit  # noqa: E402
from tests.trainers.helpers import ARCHS, tiny_config, toy_documents  # noqa: E402
from trainers.train import train  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> None:
    # The test machine's cores are shared: one thread is ~4x faster than two under contention.
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    recipe = corpuskit.Recipe(
        name="toy", sources=[corpuskit.DocumentsSource(documents=toy_documents())]
    )
    return Path(recipe.build(out=tmp_path_factory.mktemp("builds")).path)


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="session")
def finished_runs(tiny_build: Path, runs_dir: Path) -> dict[str, Path]:
    """arch → run directory of a finished 30-step tiny run (trained once per session)."""
    return {arch: train(tiny_build, tiny_config(f"arch={arch}"), runs_dir) for arch in ARCHS}
