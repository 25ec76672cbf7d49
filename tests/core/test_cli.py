"""The command line: one-line errors with exit 2, and the verbs on a real build."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from typer.testing import CliRunner

from corpuskit.cli import app
from tests.core.helpers import recipe_dict, shard_hashes, write_corpus

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def write_recipe(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_validate_prints_hash_and_bad_recipe_exits_2(tmp_path: Path) -> None:
    write_corpus(tmp_path / "c", files=1, lines=10)
    good = write_recipe(tmp_path / "good.yaml", recipe_dict(tmp_path / "c"))
    bad_data = recipe_dict(tmp_path / "c")
    bad_data["filters"][0]["min_wrods"] = 3
    bad = write_recipe(tmp_path / "bad.yaml", bad_data)
    result = runner.invoke(app, ["validate", str(good), str(bad)])
    assert result.exit_code == 2
    from corpuskit import Recipe

    assert f"{good}  ok  t  {Recipe.from_yaml(good).hash}" in result.stdout
    assert (
        f"{bad}:11 filters[0].min_wrods: unknown field (did you mean min_words?)" in result.stderr
    )


def test_build_missing_input_is_one_line_exit_2(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "r.yaml", recipe_dict(tmp_path / "nowhere"))
    result = runner.invoke(app, ["build", str(recipe), "--out", str(tmp_path / "o"), "--quiet"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {recipe}:4 sources[0]: source toy: no file matches")


def test_build_inspect_ls_verify(tmp_path: Path) -> None:
    write_corpus(tmp_path / "c")
    recipe = write_recipe(tmp_path / "r.yaml", recipe_dict(tmp_path / "c"))
    result = runner.invoke(
        app, ["build", str(recipe), "--out", str(tmp_path / "o"), "--budget", "500"]
    )
    assert result.exit_code == 0, result.output
    build_dir = Path(result.stdout.strip().splitlines()[-1])
    assert build_dir.parent == tmp_path / "o" / "t"
    shown = runner.invoke(app, ["inspect", str(build_dir), "--samples", "2"])
    assert shown.exit_code == 0
    for heading in (
        "sources (words)",
        "attrition ledger",
        "shards",
        "licenses",
        "first 2 documents",
    ):
        assert heading in shown.stdout
    assert runner.invoke(app, ["verify", str(build_dir)]).exit_code == 0
    listed = runner.invoke(app, ["ls", "filters"])
    assert "filters: word_count" in listed.stdout and "min_words" in listed.stdout
    missing = runner.invoke(app, ["inspect", str(tmp_path)])
    assert missing.exit_code == 2 and "is not a corpuskit build" in missing.stderr


def test_killed_build_leaves_no_output_and_rerun_finishes(tmp_path: Path) -> None:
    write_corpus(tmp_path / "c", files=6, lines=400)
    data = recipe_dict(tmp_path / "c")
    data["filters"].append({"kind": "tests.core.slow_steps:SlowFilter"})
    recipe = write_recipe(tmp_path / "r.yaml", data)
    out = tmp_path / "o"
    base = [sys.executable, "-m", "corpuskit", "build", str(recipe), "--quiet"]
    cmd = [*base, "--out", str(out), "--workers", "1"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, start_new_session=True)
    deadline = time.time() + 60
    while not list(out.glob("t/.work-*/part-00001.json")) and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    builds = [p for p in (out / "t").iterdir() if not p.name.startswith(".")]
    assert builds == []  # nothing half-written where a build would be
    rerun = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    reference = subprocess.run(
        [*base, "--out", str(tmp_path / "ref"), "--workers", "2"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    resumed_dir = Path(rerun.stdout.strip().splitlines()[-1])
    reference_dir = Path(reference.stdout.strip().splitlines()[-1])
    assert shard_hashes(resumed_dir) == shard_hashes(reference_dir)
