"""The Ray executor (real Ray, local mode) gives the local executor's bytes, even after a worker dies."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corpuskit import Recipe, build
from corpuskit.filters import filter_function
from corpuskit.testing.openai_server import OpenAITestServer, prompt_set_responder
from tests.core.helpers import recipe_dict, shard_hashes, write_corpus

REPO = Path(__file__).resolve().parents[2]

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One small local Ray instance for the module (starting Ray costs seconds)."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, object_store_memory=80 * 1024**2, include_dashboard=False)
    yield
    if started:
        ray.shutdown()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    write_corpus(tmp_path / "corpus", files=4, lines=300)
    return tmp_path / "corpus"


def _without_run_details(manifest: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in manifest.items() if k not in {"executor", "built_at"}}


def test_ray_build_equals_local_build(tmp_path: Path, corpus: Path, local_ray: None) -> None:
    recipe = Recipe.from_dict(recipe_dict(corpus))
    on_ray = build(recipe, out=tmp_path / "ray", executor="ray", workers=2)
    local = build(recipe, out=tmp_path / "local", executor="local", workers=2)
    assert len(shard_hashes(local.path)) == 3  # 2000 words at 700 words per shard
    assert shard_hashes(on_ray.path) == shard_hashes(local.path)
    assert _without_run_details(on_ray.manifest) == _without_run_details(local.manifest)
    assert on_ray.manifest["executor"] == {"name": "ray", "workers": 2}
    assert local.manifest["executor"]["name"] == "local"
    assert not any((tmp_path / "ray" / "t").glob(".work-*"))  # staging removed after publishing


@pytest.mark.parametrize(
    "recipe_file",
    ["recipes/quickstart.yaml", "tests/budget/babylm_mix.yaml"],
    ids=["quickstart", "babylm_mix"],
)
def test_seed_recipes_build_identically_on_ray(
    tmp_path: Path, data_root: Path, local_ray: None, recipe_file: str
) -> None:
    recipe = Recipe.from_yaml(REPO / recipe_file)
    on_ray = build(recipe, out=tmp_path / "ray", data_root=data_root, executor="ray")
    local = build(recipe, out=tmp_path / "local", data_root=data_root, workers=2)
    assert shard_hashes(on_ray.path) == shard_hashes(local.path)
    assert _without_run_details(on_ray.manifest) == _without_run_details(local.manifest)
    assert on_ray.manifest["totals"]["words"] == recipe.budget.total  # type: ignore[union-attr]


def test_worker_killed_mid_build_is_retried(tmp_path: Path, corpus: Path, local_ray: None) -> None:
    # Defined here, not at module level: Ray must ship the run-time class by value (cloudpickle).
    @filter_function("die_once_on_part1")
    def die_once_on_part1(doc, marker: str = ""):  # type: ignore[no-untyped-def]
        if "part1.txt" in doc.id and not os.path.exists(marker):
            Path(marker).write_text(str(os.getpid()))
            os._exit(1)  # the worker process dies without cleanup, as under the OOM killer
        return True

    marker = tmp_path / "died.pid"
    data = recipe_dict(corpus)
    data["filters"].append({"kind": "die_once_on_part1", "marker": str(marker)})
    recipe = Recipe.from_dict(data)
    on_ray = build(recipe, out=tmp_path / "ray", executor="ray", workers=2)
    dead_pid = int(marker.read_text())
    assert dead_pid != os.getpid()  # it was a Ray worker that died, not this process
    local = build(recipe, out=tmp_path / "local", executor="local", workers=1)  # marker set
    assert shard_hashes(on_ray.path) == shard_hashes(local.path)
    assert _without_run_details(on_ray.manifest) == _without_run_details(local.manifest)
    assert on_ray.manifest["totals"]["words"] == local.manifest["totals"]["words"] > 1990


def test_minhash_hashes_on_ray_give_the_local_dedup(
    tmp_path: Path,
    local_ray: None,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # small blocks, so the few hundred candidate rows' signatures are spread over Ray too
    monkeypatch.setattr("corpuskit.executors.ray_stage2.ROWS_PER_BLOCK", 100)
    paths = write_corpus(tmp_path / "corpus", files=3, lines=2000, seed=3)
    lines = paths[0].read_text(encoding="utf-8").splitlines()
    near = [f"{line} indeed" for line in lines[:400] if len(line.split()) >= 6]
    (tmp_path / "corpus" / "near.txt").write_text("\n".join(near) + "\n", encoding="utf-8")
    data = recipe_dict(tmp_path / "corpus", total=None, min_words=1)
    data["dedup"] = [{"kind": "minhash", "threshold": 0.7, "ngram": 2, "num_perm": 64}]
    recipe = Recipe.from_dict(data)
    with caplog.at_level("INFO", logger="corpuskit"):
        on_ray = build(recipe, out=tmp_path / "ray", executor="ray", workers=2)
    local = build(recipe, out=tmp_path / "local", executor="local", workers=1)
    rows = {r["step"]: r for r in local.manifest["ledger"]}["minhash"]["docs_in"]
    messages = [r.getMessage() for r in caplog.records if "on Ray Data" in r.getMessage()]
    assert len(messages) == 2, messages
    assert re.fullmatch(
        rf"minhash keys of {rows} rows computed on Ray Data in \d+ blocks", messages[0]
    )
    assert re.fullmatch(
        r"minhash signatures of \d+ rows computed on Ray Data in \d+ blocks", messages[1]
    )
    assert shard_hashes(on_ray.path) == shard_hashes(local.path)
    assert _without_run_details(on_ray.manifest) == _without_run_details(local.manifest)
    dropped = {r["step"]: r for r in local.manifest["ledger"]}["minhash"]["dropped"]
    assert dropped["dup_near"]["docs"] >= len(near) == 245  # the planted copies go, and more


def test_task_engine_equals_local_build(tmp_path: Path, corpus: Path, local_ray: None) -> None:
    recipe = Recipe.from_dict(recipe_dict(corpus))
    options = {"engine": "tasks"}
    on_ray = build(recipe, out=tmp_path / "ray", executor="ray", executor_options=options)
    local = build(recipe, out=tmp_path / "local", executor="local", workers=1)
    assert shard_hashes(on_ray.path) == shard_hashes(local.path)
    assert _without_run_details(on_ray.manifest) == _without_run_details(local.manifest)


def _generator_recipe(base_url: str) -> Recipe:
    """Two sources (two tasks) → a filter (Ray tasks) → a paraphrase generator (actor pool)."""
    texts = [f"The small dog number {i} runs to the green park today." for i in range(10)]
    step = {"model": "test-model", "base_url": base_url, "api_key_env": None}
    return Recipe.from_dict(
        {
            "name": "gen",
            "seed": 7,
            "sources": [
                {"kind": "documents", "name": "a", "documents": texts[:6]},
                {"kind": "documents", "name": "b", "documents": [*texts[6:], "too short"]},
            ],
            "filters": [{"kind": "word_count", "min_words": 4}],
            "generators": [{"kind": "paraphrase", "k": 2, "n": 1, **step}],
            "output": {"shard_words": 200, "keep_rejects": True},
        }
    )


def test_generator_actor_pool_uses_the_cache(tmp_path: Path, local_ray: None) -> None:
    with OpenAITestServer(prompt_set_responder) as server:
        recipe = _generator_recipe(server.base_url)
        on_ray = build(recipe, out=tmp_path / "ray", executor="ray")
        assert len(server.completions) == 10  # one request per seed kept by the filter
        server.clear()
        local = build(recipe, out=tmp_path / "local", workers=1)
        assert len(server.completions) == 10  # its own cache: the same requests again
        server.clear()
        again = build(recipe, out=tmp_path / "ray", executor="ray", overwrite=True)
        assert server.completions == []  # the actors read the build's SQLite cache
    assert shard_hashes(on_ray.path) == shard_hashes(local.path) == shard_hashes(again.path)
    assert _without_run_details(on_ray.manifest) == _without_run_details(local.manifest)
    ledger = {row["step"]: row for row in again.manifest["ledger"]}
    assert ledger["paraphrase"]["counters"]["cache_hits"] == 10
    assert on_ray.manifest["totals"]["docs"] == 10 + 10 * 2
    assert on_ray.manifest["rejects"]["rows"] == 1  # "too short", from task 1
    rejects = [p.read_bytes() for p in sorted((on_ray.path / "rejects").glob("*.arrow"))]
    assert rejects == [p.read_bytes() for p in sorted((local.path / "rejects").glob("*.arrow"))]


def test_a_step_error_reaches_the_caller_unwrapped(
    tmp_path: Path, corpus: Path, local_ray: None
) -> None:
    from corpuskit.errors import CorpuskitError

    @filter_function("refuses_part2")
    def refuses_part2(doc):  # type: ignore[no-untyped-def]
        if "part2.txt" in doc.id:
            raise CorpuskitError(f"refuses_part2: {doc.id} is not wanted", hint="drop part2")
        return True

    data = recipe_dict(corpus)
    data["filters"].append({"kind": "refuses_part2"})
    with pytest.raises(
        CorpuskitError, match=r"refuses_part2: .*part2\.txt.* is not wanted"
    ) as info:
        build(Recipe.from_dict(data), out=tmp_path / "ray", executor="ray", workers=2)
    assert info.value.hint == "drop part2"


def test_unknown_option_is_refused_with_the_known_ones() -> None:
    from corpuskit.errors import CorpuskitError
    from corpuskit.executors import get_executor

    with pytest.raises(CorpuskitError, match="unknown ray executor option") as info:
        get_executor("ray", 2, num_cpu=2)
    assert "num_cpus" in (info.value.hint or "")
    executor = get_executor("ray", 3, address="auto", max_retries=1)
    assert (executor.name, executor.workers, executor.address) == ("ray", 3, "auto")  # type: ignore[attr-defined]
    assert executor.engine == "data"  # type: ignore[attr-defined]
    with pytest.raises(CorpuskitError, match="unknown ray engine 'dataset'") as engine:
        get_executor("ray", 2, engine="dataset")
    assert engine.value.hint == "use one of: data, tasks"


def test_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from corpuskit.errors import MissingDependencyError
    from corpuskit.executors import get_executor

    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # makes `import ray` fail
    with pytest.raises(MissingDependencyError) as info:
        get_executor("ray", 2)
    assert info.value.hint == "pip install 'corpuskit[ray]'"


def test_generators_with_per_build_limits_run_one_task_per_partition(tmp_path: Path) -> None:
    from corpuskit.executors.ray import RayExecutor
    from corpuskit.pipeline import BuildPlan

    def plan(**limits: int) -> BuildPlan:
        data = _generator_recipe("http://127.0.0.1:9/v1").to_dict()
        data["generators"][0].update(limits)
        return BuildPlan(Recipe.from_dict(data), tmp_path, tmp_path, [], tmp_path)

    data_engine, task_engine = RayExecutor(), RayExecutor(engine="tasks")
    assert data_engine.engine_for(plan()) == "data"
    assert data_engine.engine_for(plan(max_words=50)) == "tasks"
    assert data_engine.engine_for(plan(rpm=60)) == "tasks"
    assert task_engine.engine_for(plan()) == "tasks"


def test_a_generator_quota_on_ray_gives_the_local_bytes(tmp_path: Path, local_ray: None) -> None:
    with OpenAITestServer(prompt_set_responder) as server:
        data = _generator_recipe(server.base_url).to_dict()
        data["generators"][0]["max_words"] = 60
        recipe = Recipe.from_dict(data)
        on_ray = build(recipe, out=tmp_path / "ray", executor="ray")
        local = build(recipe, out=tmp_path / "local", workers=2)
    assert shard_hashes(on_ray.path) == shard_hashes(local.path)
    generated = [d for d in on_ray.open().documents() if d.meta.get("synthetic")]
    assert 0 < sum(d.words for d in generated) <= 60
