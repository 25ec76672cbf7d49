"""The seed-study runner: aggregation with exact values, MRPC decontamination, a tiny resumed run."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import seed_study
from seed_study import Row, TimeCapError, ordering, render, summarize, time_cap

ROWS = [
    Row("para", 0, {"blimp@5": 0.50, "rte": 0.60, "wnli": 0.40}),
    Row("para", 1, {"blimp@5": 0.70, "rte": 0.50, "wnli": 0.50}),
    Row("wikt", 0, {"blimp@5": 0.60, "rte": 0.55, "wnli": 0.45}),
    Row("wikt", 1, {"blimp@5": 0.80}, status="time cap (60 s)"),  # stopped before fine-tuning
]


def test_summary_is_mean_and_sample_sd_over_finished_seeds() -> None:
    table = summarize(ROWS, ["blimp@5", "rte", "wnli"], ["rte", "wnli"])
    assert table["para"]["blimp@5"] == pytest.approx((0.6, statistics.stdev([0.5, 0.7]), 2))
    assert table["para"]["rte"] == pytest.approx((0.55, statistics.stdev([0.6, 0.5]), 2))
    # GLUE is the mean over seeds of each seed's fine-tuning mean: (0.5 + 0.5) / 2.
    assert table["para"]["GLUE"] == pytest.approx((0.5, 0.0, 2))
    assert table["wikt"]["blimp@5"] == pytest.approx((0.7, statistics.stdev([0.6, 0.8]), 2))
    # The capped seed has no fine-tuning scores: one seed, no sd.
    assert table["wikt"]["rte"] == (0.55, None, 1)
    assert table["wikt"]["GLUE"] == (0.5, None, 1)
    assert list(table) == ["para", "wikt"]


def test_table_and_ordering_render_in_percent() -> None:
    rows = [
        Row("a", 0, {"rte": 0.5}),
        Row("b", 0, {"rte": 0.7}),
        Row("b", 1, {"rte": 0.5}),
        Row("c", 0, {"rte": 0.25}),
    ]
    table = summarize(rows, ["rte"], ["rte"])
    assert render(table, ["rte", "GLUE"]) == [
        "| recipe | rte | GLUE |",
        "|---|---:|---:|",
        "| a | 50.0 (n=1) | 50.0 (n=1) |",
        "| b | 60.0 ± 14.1 (n=2) | 60.0 ± 14.1 (n=2) |",
        "| c | 25.0 (n=1) | 25.0 (n=1) |",
    ]
    assert ordering(table) == "b (60.0) > a (50.0) > c (25.0)"


def test_time_cap_interrupts_and_disarms() -> None:
    with pytest.raises(TimeCapError), time_cap(0.05):
        time.sleep(2)
    with time_cap(0.5):
        pass
    time.sleep(0.6)  # the timer was cancelled on exit: nothing fires now


def test_paraphrase_condition_is_decontaminated_against_the_mrpc_eval_split(
    data_root: Path,
) -> None:
    from corpuskit.dedup.evalsets import EvalSet, load_items
    from trainers.evaluate.finetune_data import mrpc

    recipe = seed_study.study_recipe("paraphrase-pairs", seed=2, budget=1000)
    (step,) = [d for d in recipe.dedup if d.kind == "decontaminate"]
    items = set(load_items(EvalSet(**seed_study.MRPC_EVAL), data_root))
    _train, valid = mrpc(data_root)
    # The items are exactly the sentences the MRPC task validates on (3,393 distinct ones).
    assert items == {e.text_a for e in valid} | {e.text_b for e in valid}
    assert len(items) == 3393
    assert (recipe.seed, recipe.budget.total) == (2, 1000)
    assert step.sets[0].name == "mrpc_eval"
    plain = seed_study.study_recipe("wiktionary", seed=None, budget=None)
    assert plain.dedup == [] and plain.seed == 0


def test_tiny_study_prints_rows_and_resumes_from_the_caches(
    data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "--recipes=wiktionary,paraphrase-pairs",
        "--seeds=1",
        "--tasks=blimp",
        "--blimp-limit=1",
        "--budget=2000",
        "--set=max_steps=5",
        "--device=cpu",
        f"--work={tmp_path}",
        f"--data-root={data_root}",
    ]
    first = seed_study.main(argv)
    out = capsys.readouterr().out
    assert [(r.recipe, r.seed, r.words, r.status) for r in first] == [
        ("wiktionary", 0, 2000, "done"),
        ("paraphrase-pairs", 0, 2000, "done"),
    ]
    assert all(list(r.scores) == ["blimp@1"] for r in first)
    assert out.count("\nrow ") + out.startswith("row ") == 2 and "| recipe | blimp@1 |" in out
    saved = json.loads((tmp_path / "rows.json").read_text())
    assert [(r["recipe"], r["scores"]) for r in saved] == [(r.recipe, r.scores) for r in first]
    metrics = sorted(tmp_path.glob("runs/*/*/*/metrics.json"))
    stamps = [p.stat().st_mtime_ns for p in metrics]
    second = seed_study.main(argv)
    assert [r.scores for r in second] == [r.scores for r in first]
    assert [p.stat().st_mtime_ns for p in metrics] == stamps  # trained once, reused
    assert len(metrics) == 2
