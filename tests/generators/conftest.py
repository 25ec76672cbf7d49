"""Fixtures for generator tests: a real local OpenAI-compatible server and MRPC seed sentences."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corpuskit.testing.openai_server import OpenAITestServer, prompt_set_responder


@pytest.fixture
def server() -> Iterator[OpenAITestServer]:
    with OpenAITestServer(prompt_set_responder) as srv:
        yield srv


def mrpc_sentences(data_root: Path, n: int) -> list[str]:
    """The first ``n`` '#1 String' sentences of the MRPC training file (read, never copied)."""
    path = data_root / "paraphrase" / "mrpc" / "msr_paraphrase_train.txt"
    lines = path.read_text(encoding="utf-8-sig").splitlines()[1:]
    return [line.split("\t")[3] for line in lines[:n]]


def llm_recipe(
    base_url: str, texts: list[str], generator: dict[str, Any], name: str = "gen"
) -> dict[str, Any]:
    """A recipe: inline documents → one generator talking to ``base_url`` without a key."""
    step = {"model": "test-model", "base_url": base_url, "api_key_env": None, **generator}
    return {
        "name": name,
        "seed": 7,
        "sources": [{"kind": "documents", "name": "seeds", "documents": texts}],
        "generators": [step],
    }
