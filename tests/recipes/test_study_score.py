"""Acceptance (slow): score quickstart, paraphrase and wiktionary with the tiny trainer on CPU,
then check the leaderboard and that the HTML report's tables equal it.

The paraphrase recipe's generator talks to the local OpenAI-compatible test server; its replies
are placeholders, so the scores compare workflows, not data quality.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from corpuskit import Recipe
from corpuskit.testing.openai_server import OpenAITestServer, prompt_set_responder
from tests.evaluate.test_leaderboard import _parse
from trainers.evaluate.report import summary_table
from trainers.leaderboard import Leaderboard

REPO = Path(__file__).resolve().parents[2]


def corpuskit(*args: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["corpuskit", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_three_recipes_scored_side_by_side(data_root: Path, tmp_path: Path) -> None:
    env = {**os.environ, "CORPUSKIT_DATA": str(data_root), "OPENAI_API_KEY": "test-key"}
    with OpenAITestServer(prompt_set_responder) as server:
        data = Recipe.from_yaml(REPO / "recipes/paraphrase.yaml").to_dict()
        for step in data["generators"]:
            step.update(base_url=server.base_url, max_words=300)
        for source in data["sources"]:
            if source["name"] == "sentences":
                source["paths"] = ["gutenberg/pg11.txt"]
        (tmp_path / "paraphrase.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        recipes = [REPO / "recipes/quickstart.yaml", tmp_path / "paraphrase.yaml"]
        recipes.append(REPO / "recipes/wiktionary.yaml")
        for recipe in recipes:
            corpuskit(
                "score", str(recipe), "--train", str(REPO / "trainers/configs/tiny.yaml"),
                "--budget", "20000", "--limit", "10", cwd=tmp_path, env=env,
            )  # fmt: skip
    corpuskit("leaderboard", "--report", "report.html", cwd=tmp_path, env=env)
    board = Leaderboard(tmp_path / "leaderboard.sqlite")
    assert sorted(s.recipe_name for s in board.summaries()) == [
        "paraphrase",
        "quickstart",
        "wiktionary",
    ]
    page = _parse((tmp_path / "report.html").read_text())
    header, cells = summary_table(board.summaries())
    assert page.tables["summary"] == [header, *cells]
    assert [img["data-plot"] for img in page.images].count("comparison") == 1
