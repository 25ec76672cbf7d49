"""``corpuskit score`` end to end on CPU (build → train → BLiMP subset → leaderboard row), twice."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpuskit.cli import app
from tests.trainers.helpers import toy_documents

TASK_FILE = Path(__file__).parents[1] / "data" / "evaluate" / "agreement.jsonl"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    (root / "toy.txt").write_text("\n".join(toy_documents(400)) + "\n")
    (root / "toy.yaml").write_text(
        "name: toy\nversion: 1\nseed: 0\nsources:\n"
        f"  - kind: text\n    name: toy\n    paths: [{root / 'toy.txt'}]\n"
    )
    return root


def _score(project: Path, data_root: Path, *extra: str) -> str:
    args = [
        "score",
        str(project / "toy.yaml"),
        "--train",
        "tiny.yaml",
        "--tasks",
        f"blimp,{TASK_FILE}",
        "--limit",
        "3",
        "--data-root",
        str(data_root),
        "--out",
        str(project / "out"),
        "--runs-dir",
        str(project / "runs"),
        "--db",
        str(project / "lb.sqlite"),
        "--set",
        "quiet=true",
        *extra,
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_score_end_to_end_then_every_stage_cached(project: Path, data_root: Path) -> None:
    first = _score(project, data_root)
    assert "build" in first and "[done]" in first
    lines = {line.split()[0]: line for line in first.splitlines() if line.strip()}
    assert lines["build"].endswith("[done]") and lines["train"].endswith("[done]")
    assert lines["eval"].endswith("[done]")
    run_dir = Path(lines["train"].split()[1])
    eval_file = Path(lines["eval"].split()[1])
    stamps = {
        p: p.stat().st_mtime_ns
        for p in [run_dir / "metrics.json", eval_file, run_dir / "model" / "model.safetensors"]
    }

    second = _score(project, data_root)
    lines2 = {line.split()[0]: line for line in second.splitlines() if line.strip()}
    for stage in ("build", "train", "eval"):
        assert lines2[stage].endswith("[cached]"), second
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nothing was rewritten

    stored = json.loads(eval_file.read_text())
    blimp = next(r for r in stored["results"] if r["task"] == "blimp")
    assert blimp["n"] == 67 * 3 and len(blimp["groups"]["UID"]) == 67
    with sqlite3.connect(project / "lb.sqlite") as conn:
        rows = conn.execute("SELECT recipe_name, seed, eval_version FROM runs").fetchall()
        top = dict(conn.execute("SELECT task, value FROM scores WHERE grp = ''").fetchall())
    assert rows == [("toy", 0, stored["eval_version"])]
    assert set(top) == {"blimp@3", "agreement@3"}
    assert top["blimp@3"] == pytest.approx(blimp["score"])


def test_second_seed_adds_a_row_and_leaderboard_prints_mean_std(
    project: Path, data_root: Path
) -> None:
    _score(project, data_root)
    _score(project, data_root, "--seed", "1")
    result = CliRunner().invoke(app, ["leaderboard", "--db", str(project / "lb.sqlite"), "--plain"])
    assert result.exit_code == 0, result.output
    report = project / "report.html"
    pretty = CliRunner().invoke(
        app, ["leaderboard", "--db", str(project / "lb.sqlite"), "--report", str(report)]
    )
    assert pretty.exit_code == 0 and "blimp@3" in pretty.output
    page = report.read_text()
    assert page.count('data-plot="blimp"') == 1 and page.count('data-plot="comparison"') == 1
    with sqlite3.connect(project / "lb.sqlite") as conn:
        values = [
            v
            for (v,) in conn.execute(
                "SELECT value FROM scores WHERE grp = '' AND task = 'blimp@3' ORDER BY seed"
            )
        ]
    assert len(values) == 2
    import statistics

    expected = f"{100 * statistics.fmean(values):.1f} ± {100 * statistics.stdev(values):.1f}"
    header, row = (line.split("\t") for line in result.output.splitlines())
    assert row[header.index("blimp@3")] == expected
    assert row[header.index("seeds")] == "0,1"
    assert row[header.index("recipe")] == "toy"


def test_leaderboard_without_a_db_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["leaderboard", "--db", str(tmp_path / "none.sqlite")])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "no leaderboard at" in result.output


def test_score_a_hybrid_model_reads_it_with_mntp(project: Path, data_root: Path) -> None:
    out = _score(project, data_root, "--set", "arch=gptbert", "--tasks", "blimp")
    eval_file = Path(next(line for line in out.splitlines() if line.startswith("eval")).split()[1])
    stored = json.loads(eval_file.read_text())
    assert stored["settings"]["mode"] == "auto"
    (blimp,) = stored["results"]
    assert blimp["n"] == 67 * 3
    run_dir = eval_file.parents[2]
    assert json.loads((run_dir / "model" / "trainers.json").read_text())["objective"] == "hybrid"


def test_limit_labels_pair_tasks_only() -> None:
    from trainers.evaluate.runner import EvalSettings
    from trainers.score import task_labels

    tasks = ["blimp", "rte", "ewok"]
    assert task_labels(tasks, EvalSettings()) == {}
    assert task_labels(tasks, EvalSettings(limit=100)) == {"blimp": "blimp@100", "ewok": "ewok@100"}


def test_compute_labels_pair_tasks_only() -> None:
    from trainers.evaluate.runner import EvalSettings
    from trainers.score import task_labels

    tasks = ["blimp", "rte", "ewok"]
    assert task_labels(tasks, EvalSettings(compute="fp32")) == {}
    assert task_labels(tasks, EvalSettings(compute="bf16")) == {
        "blimp": "blimp@bf16",
        "ewok": "ewok@bf16",
    }
    assert task_labels(tasks, EvalSettings(limit=20, compute="tf32")) == {
        "blimp": "blimp@20@tf32",
        "ewok": "ewok@20@tf32",
    }


def test_unknown_compute_is_one_line_before_any_build(tmp_path: Path) -> None:
    args = ["score", str(tmp_path / "absent.yaml"), "--train", "tiny.yaml", "--compute", "fp16"]
    args += ["--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    expected = "error: --compute: unknown compute precision 'fp16' (expected one of fp32, tf32,"
    assert result.output.startswith(expected) and "(hint: fp32 (default" in result.output
    assert result.output.count("\n") == 1 and not (tmp_path / "out").exists()


def test_score_with_bf16_compute_is_its_own_cache_entry_and_leaderboard_name(
    project: Path, data_root: Path
) -> None:
    def eval_line(output: str) -> list[str]:
        return next(line for line in output.splitlines() if line.startswith("eval")).split()

    exact = eval_line(_score(project, data_root))
    fast = eval_line(_score(project, data_root, "--compute", "bf16"))
    assert fast[1] != exact[1] and Path(fast[1]).parent == Path(exact[1]).parent
    assert json.loads(Path(fast[1]).read_text())["settings"]["compute"] == "bf16"
    assert eval_line(_score(project, data_root, "--compute", "bf16"))[2] == "[cached]"
    with sqlite3.connect(project / "lb.sqlite") as conn:
        tasks = {t for (t,) in conn.execute("SELECT task FROM scores WHERE grp = '' AND seed = 0")}
    assert {"blimp@3", "agreement@3", "blimp@3@bf16", "agreement@3@bf16"} <= tasks
