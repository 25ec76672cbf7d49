"""The documentation's examples run: tutorial commands, the tutorial recipe, the generated reference."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from corpuskit import Recipe, build
from corpuskit.cli import app

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
TUTORIAL = (DOCS / "tutorial.md").read_text()
runner = CliRunner()


def fenced(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.DOTALL)


def tutorial_commands() -> list[str]:
    """Lines of the tutorial's bash blocks that start with `corpuskit validate` or `build`."""
    blocks = [
        b
        for b in fenced(TUTORIAL, "bash")
        if b.startswith(("corpuskit validate", "corpuskit build"))
    ]
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_the_tutorial_shows_validate_and_build_commands() -> None:
    assert tutorial_commands() == [
        "corpuskit validate recipes/quickstart.yaml recipes/wiktionary.yaml",
        "corpuskit build recipes/quickstart.yaml --budget 20000",
        "corpuskit build recipes/wiktionary.yaml --budget 20000",
    ]


def test_tutorial_commands_run(
    data_root: Path, chdir_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from a folder with the repository's recipes, as a newcomer would from the root."""
    monkeypatch.setenv("CORPUSKIT_DATA", str(data_root))
    (chdir_tmp / "recipes").symlink_to(REPO / "recipes")
    for command in tutorial_commands():
        argv = shlex.split(command, comments=True)
        assert argv[0] == "corpuskit"
        result = runner.invoke(app, argv[1:])
        assert result.exit_code == 0, f"{command}\n{result.output}"
        if argv[1] == "build":
            path = Path(result.output.strip().splitlines()[-1])
            assert (chdir_tmp / path / "manifest.json").is_file()
            assert Recipe.from_yaml(argv[2]).name == path.parent.name
    built = sorted(p.parent.parent.name for p in chdir_tmp.glob("out/*/*/manifest.json"))
    assert built == ["quickstart", "wiktionary"]


def tutorial_score_commands() -> list[str]:
    """The tutorial's `corpuskit score` and `corpuskit leaderboard` lines, in order."""
    lines = [line for block in fenced(TUTORIAL, "bash") for line in block.splitlines()]
    return [line for line in lines if line.startswith(("corpuskit score", "corpuskit leaderb"))]


@pytest.mark.slow
def test_tutorial_score_and_leaderboard_commands_run(
    data_root: Path, chdir_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Build -> train -> evaluate -> compare, exactly as the tutorial's sections 6 and 7 say."""
    from trainers.leaderboard import Leaderboard

    monkeypatch.setenv("CORPUSKIT_DATA", str(data_root))
    for name in ("recipes", "trainers"):
        (chdir_tmp / name).symlink_to(REPO / name)
    commands = tutorial_score_commands()
    assert [c.split()[1] for c in commands] == ["score", "score", "leaderboard"]
    for command in commands:
        done = subprocess.run(
            shlex.split(command), capture_output=True, text=True, timeout=600, check=False
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
    summaries = Leaderboard(chdir_tmp / "leaderboard.sqlite").summaries()
    assert sorted(s.recipe_name for s in summaries) == ["quickstart", "wiktionary"]
    assert "<img" in (chdir_tmp / "report.html").read_text()


def test_the_tutorial_validate_output_matches_the_shown_hashes(data_root: Path) -> None:
    shown = fenced(TUTORIAL, "text")[0].split()
    for path, _ok, name, digest in zip(*[iter(shown)] * 4, strict=True):
        recipe = Recipe.from_yaml(REPO / path)
        assert (recipe.name, recipe.hash) == (name, digest)


def test_the_tutorial_recipe_builds(data_root: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(fenced(TUTORIAL, "yaml")[0])
    recipe = Recipe.from_dict(data).with_budget(5_000)
    recipe.check(data_root)
    result = build(recipe, out=tmp_path, data_root=data_root)
    words = {}
    for doc in result.open().documents():
        words[doc.source] = words.get(doc.source, 0) + doc.words
    assert words == {"books": 1_500, "talk": 3_500}


def test_the_recipe_reference_is_up_to_date() -> None:
    # This checkout's corpuskit, not whichever one is installed (a worktree's differs from it).
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    check = subprocess.run(
        [sys.executable, str(DOCS / "gen_reference.py"), "--check"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert check.returncode == 0, check.stderr


def test_doc_links_point_to_existing_pages() -> None:
    nav = yaml.safe_load((REPO / "mkdocs.yml").read_text())["nav"]
    pages = {next(iter(entry.values())) for entry in nav}
    assert pages == {p.name for p in DOCS.glob("*.md")}
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([\w-]+\.md)(?:#[\w-]+)?\)", page.read_text()):
            assert (DOCS / target).is_file(), f"{page.name} links to missing {target}"
