"""Fixtures: a BLiMP subset from the shared data and tiny random HF models saved per session."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tests.evaluate.helpers import OWN_TEXT, blimp_subset, save_tiny_bert, save_tiny_gpt2  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> None:
    # The test machine's cores are shared: one thread is faster than two under contention.
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def blimp_1000(data_root: Path) -> list[dict]:
    return blimp_subset(data_root)


@pytest.fixture(scope="session")
def tokenizer_texts(blimp_1000: list[dict]) -> list[str]:
    # Half the subset trains the tokenizers, so the other half exercises unseen merges.
    sample = blimp_1000[::2]
    return OWN_TEXT + [r["sentence_good"] for r in sample] + [r["sentence_bad"] for r in sample]


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory: pytest.TempPathFactory, tokenizer_texts: list[str]) -> Path:
    return save_tiny_gpt2(tmp_path_factory.mktemp("gpt2"), tokenizer_texts)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory, tokenizer_texts: list[str]) -> Path:
    return save_tiny_bert(tmp_path_factory.mktemp("bert"), tokenizer_texts)
