"""recipes/babylm-official.yaml against a self-written tree in the official BabyLM 2023 layout."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpuskit import Recipe, build
from corpuskit.cli import app

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "recipes" / "babylm-official.yaml"
# file stem in babylm_10M/ -> source name in the recipe
DOMAINS = {
    "open_subtitles": "open_subtitles",
    "simple_wikipedia": "simple_wikipedia",
    "bnc_spoken": "bnc_spoken",
    "gutenberg": "gutenberg",
    "qed": "qed",
    "wikipedia": "wikipedia",
    "cbt": "cbt",
    "aochildes": "childes",
    "children_stories": "children_stories",
    "switchboard": "switchboard",
}


@pytest.fixture(scope="module")
def babylm_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """babylm_data/babylm_10M/<domain>.train: 5,000 words each of own made-up lines."""
    root = tmp_path_factory.mktemp("babylm_data")
    (root / "babylm_10M").mkdir()
    rng = random.Random(7)
    for stem in DOMAINS:
        lines, words = [], 0
        while words < 5_000:
            n = rng.randint(3, 12)
            lines.append(" ".join(f"{stem[:3]}{rng.randint(0, 99)}" for _ in range(n)))
            words += n
        (root / "babylm_10M" / f"{stem}.train").write_text("\n".join(lines) + "\n\n")
    return root


def test_validates_against_the_official_layout(babylm_data: Path) -> None:
    result = CliRunner().invoke(app, ["validate", str(RECIPE), "--data-root", str(babylm_data)])
    assert result.exit_code == 0, result.output
    assert result.output.split()[:3] == [str(RECIPE), "ok", "babylm-official"]


def test_builds_the_2023_shares_exactly_at_a_reduced_budget(
    babylm_data: Path, tmp_path: Path
) -> None:
    recipe = Recipe.from_yaml(RECIPE).with_budget(10_000)
    result = build(recipe, out=tmp_path, data_root=babylm_data, workers=2)
    docs = list(result.open().documents())
    words = Counter[str]()
    for doc in docs:
        words[doc.source] += doc.words
    assert dict(words) == {
        "open_subtitles": 3_000,
        "simple_wikipedia": 1_500,
        "bnc_spoken": 1_000,
        "gutenberg": 1_000,
        "qed": 1_000,
        "wikipedia": 1_000,
        "cbt": 600,
        "childes": 400,
        "children_stories": 400,
        "switchboard": 100,
    }
    # One document per non-blank line, text as written; the budget may cut one line per quota
    # short to land on the exact count.
    text = (babylm_data / "babylm_10M" / "qed.train").read_text()
    qed = [d.text for d in docs if d.source == "qed"]
    whole = [t for t in qed if t in set(text.splitlines())]
    assert len(whole) >= len(qed) - 1 and all(("\n" + t) in ("\n" + text) for t in qed)
    assert sorted(result.manifest["non_commercial_sources"]) == [
        "bnc_spoken",
        "childes",
        "switchboard",
    ]


def test_a_missing_domain_file_is_a_located_error(babylm_data: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    (partial / "babylm_10M").mkdir(parents=True)
    for path in (babylm_data / "babylm_10M").iterdir():
        if path.stem != "qed":
            (partial / "babylm_10M" / path.name).write_bytes(path.read_bytes())
    result = CliRunner().invoke(app, ["validate", str(RECIPE), "--data-root", str(partial)])
    assert result.exit_code == 2
    assert "sources[4]: source qed: no file matches 'babylm_10M/qed.*'" in result.output
