"""Build a recipe: plan tasks, run stage 1 on an executor, assemble, write shards atomically."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from corpuskit import __version__
from corpuskit.assemble import Assembly, assemble
from corpuskit.datacard import write_datacard
from corpuskit.datapaths import display_path, find_data_root
from corpuskit.document import BLOCK_SCHEMA, REJECT_SCHEMA, conform
from corpuskit.errors import OutputExistsError
from corpuskit.executors import get_executor
from corpuskit.lazy_pandas import defer_pandas
from corpuskit.ledger import build_ledger
from corpuskit.memory import StagedFiles, build_memory_pool, release_free_memory
from corpuskit.pipeline import BuildPlan, Task, TaskResult
from corpuskit.recipe import Recipe
from corpuskit.shards import (
    FORMAT_VERSION,
    MANIFEST,
    Build,
    open_build,
    publish,
    write_hf_layout,
    write_manifest,
)
from corpuskit.sources.textio import file_sha256
from corpuskit.step import CheckContext, RunContext


@dataclass
class BuildResult:
    """Where a build lives, its manifest, and whether it was reused from an earlier run."""

    path: Path
    manifest: dict[str, Any]
    cached: bool = False

    def open(self) -> Build:
        return open_build(self.path)


def plan_tasks(recipe: Recipe, ctx: CheckContext) -> list[Task]:
    tasks: list[Task] = []
    for source_index, source in enumerate(recipe.sources):
        for key in source.partitions(ctx):
            tasks.append(Task(len(tasks), source_index, key))
    return tasks


def fingerprint_inputs(recipe: Recipe, ctx: CheckContext) -> dict[str, str]:
    """sha256 of every declared input file, keyed by its data-root-relative path."""
    out = {}
    steps: list[Any] = [*recipe.sources, *recipe.dedup]  # sources and evaluation sets
    for step in steps:
        for path in step.input_files(ctx):
            out[display_path(path, ctx.data_root)] = file_sha256(path)
    return dict(sorted(out.items()))


def build(
    recipe: Recipe,
    *,
    out: str | Path = "out",
    data_root: str | Path | None = None,
    workers: int | None = None,
    executor: str = "local",
    executor_options: dict[str, Any] | None = None,
    overwrite: bool = False,
    keep_rejects: bool | None = None,
    progress: Any = None,
) -> BuildResult:
    """Build ``recipe`` into ``out/<name>/<hash>/`` and return where it is.

    An existing build of the same recipe over the same input files is reused. A build directory
    holding a different build (same recipe, changed inputs) is refused unless ``overwrite``. An
    interrupted build resumes from the finished partitions in ``out/<name>/.work-<hash>``.
    """
    # Arrow's default pool (mimalloc) keeps the pages it touched: a build never allocates from it
    with build_memory_pool():
        defer_pandas()  # pyarrow would import pandas (30-50 MiB) into a build that never uses it
        root = find_data_root(data_root)
        recipe.check(root)
        check_ctx = CheckContext(root)
        inputs = fingerprint_inputs(recipe, check_ctx)
        final = Path(out) / recipe.name / recipe.hash
        if (final / MANIFEST).exists():
            existing = open_build(final).manifest
            if existing.get("declared_inputs") == inputs and not overwrite:
                return BuildResult(final, existing, cached=True)
            if not overwrite:
                raise OutputExistsError(
                    f"{final} holds a build of this recipe over different input files"
                )
        input_key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:8]
        work_dir = Path(out) / recipe.name / f".work-{recipe.hash}-{input_key}"
        work_dir.mkdir(parents=True, exist_ok=True)
        cache_dir = Path(out) / ".cache"
        run_id = f"build:{os.getpid()}:{dt.datetime.now(dt.UTC).timestamp()}"  # not in output
        tasks = plan_tasks(recipe, check_ctx)
        plan = BuildPlan(recipe, root, work_dir, tasks, cache_dir, run_id=run_id)
        runner = get_executor(executor, workers, **(executor_options or {}))
        on_done = progress.advance if progress is not None else (lambda _r: None)
        if progress is not None:
            progress.start(len(plan.tasks))
        results = runner.run(plan, on_done)
        stats: Counter[str] = Counter()
        read_inputs: dict[str, str] = {}
        for result in sorted(results, key=lambda r: r.index):
            stats.update(result.stats)
            read_inputs.update(result.inputs)
        global_ctx = RunContext(
            seed=recipe.seed, scope="global", data_root=root, cache_dir=cache_dir
        )
        with runner.stage2_scope():  # the ray executor computes MinHash signatures on Ray here
            assembly = assemble(recipe, results, global_ctx, work_dir / "stage2.rejects.arrow")
        release_free_memory()  # stage 2's per-row temporaries, before shards are written
        stats.update(assembly.stats)
        keep = recipe.output.keep_rejects if keep_rejects is None else keep_rejects
        tmp = Path(out) / recipe.name / f".tmp-{recipe.hash}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        manifest = _write_outputs(recipe, assembly, results, tmp, keep, stats)
        manifest["declared_inputs"] = inputs
        manifest["inputs"] = dict(sorted({**inputs, **read_inputs, **global_ctx.inputs}.items()))
        manifest["reports"] = global_ctx.reports
        manifest["executor"] = {"name": runner.name, "workers": getattr(runner, "workers", None)}
        manifest["built_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        write_manifest(tmp, manifest)
        write_datacard(tmp, manifest)
        publish(tmp, final, overwrite=overwrite)
        shutil.rmtree(work_dir, ignore_errors=True)
    return BuildResult(final, manifest)


def _write_outputs(
    recipe: Recipe,
    assembly: Assembly,
    results: list[TaskResult],
    tmp: Path,
    keep_rejects: bool,
    stats: Counter[str],
) -> dict[str, Any]:
    tables = [t for _, stage_tables in assembly.stages for t in stage_tables]
    synthetic = SyntheticWords()

    def written(batch: pa.RecordBatch) -> None:
        synthetic.add(batch)
        assembly.files.release()  # the staged pages this batch was gathered from
        release_free_memory()  # what gathering it freed (~0.8 ms a call on the issue-#3 benchmark)

    shards = write_hf_layout(tmp, tables, BLOCK_SCHEMA, written)
    stages, cursor = [], 0
    for name, stage_tables in assembly.stages:
        files = shards[cursor : cursor + len(stage_tables)]
        cursor += len(stage_tables)
        for shard in files:
            shard["stage"] = name
        stages.append(
            {
                "name": name,
                "shards": [s["file"] for s in files],
                "rows": sum(s["rows"] for s in files),
                "words": sum(s["words"] for s in files),
            }
        )
    if not tables:  # an empty build still has one (empty) shard file for load_from_disk
        shards[0]["stage"] = stages[0]["name"] if stages else "main"
    rejects_files = StagedFiles()
    rejects = _all_rejects(results, assembly, rejects_files)
    rejects_info: dict[str, Any] = {"rows": rejects.num_rows, "written": keep_rejects}
    if keep_rejects:
        write_hf_layout(
            tmp / "rejects", [rejects], REJECT_SCHEMA, lambda _batch: rejects_files.release()
        )
        rejects_info["dir"] = "rejects"
    return _manifest(recipe, assembly, stats, shards, stages, rejects_info, synthetic.share())


def _all_rejects(results: list[TaskResult], assembly: Assembly, files: StagedFiles) -> pa.Table:
    paths = [r.rejects for r in sorted(results, key=lambda r: r.index)]
    if assembly.rejects_file is not None:
        paths.append(assembly.rejects_file)
    parts = [files.read(path) for path in paths]
    tables = [conform(t, REJECT_SCHEMA) for t in [*parts, *assembly.rejects]]
    return pa.concat_tables(tables) if tables else REJECT_SCHEMA.empty_table()


class SyntheticWords:
    """Counts words of generated documents (meta ``synthetic: true``) over the written batches."""

    def __init__(self) -> None:
        self.words = self.total = 0

    def add(self, batch: pa.RecordBatch) -> None:
        import pyarrow.compute as pc

        flag = pc.match_substring(batch["meta"], '"synthetic":true')
        self.words += int(pc.sum(pc.if_else(flag, batch["words"], 0)).as_py() or 0)
        self.total += int(pc.sum(batch["words"]).as_py() or 0)

    def share(self) -> dict[str, Any]:
        """Synthetic words and their share of the output."""
        share = round(self.words / self.total, 6) if self.total else 0.0
        return {"words": self.words, "share": share}


def _manifest(
    recipe: Recipe,
    assembly: Assembly,
    stats: Counter[str],
    shards: list[dict[str, Any]],
    stages: list[dict[str, Any]],
    rejects: dict[str, Any],
    synthetic: dict[str, Any],
) -> dict[str, Any]:
    words_out = assembly.words_by_source.get("selected", {})
    sources = []
    for source in recipe.sources:
        sources.append(
            {
                "name": source.name,
                "kind": source.kind,
                "license": source.license,
                "non_commercial": source.non_commercial,
                "docs_read": stats[f"{source.name}.docs_out"],
                "words_read": stats[f"{source.name}.words_out"],
                "words_filtered": assembly.words_by_source["filtered"].get(source.name, 0),
                "words_deduplicated": assembly.words_by_source["deduplicated"].get(source.name, 0),
                "words_out": words_out.get(source.name, 0),
            }
        )
    licenses: dict[str, list[str]] = {}
    for source in recipe.sources:
        licenses.setdefault(source.license, []).append(source.name)
    total_words = sum(s["words"] for s in shards)
    return {
        "format_version": FORMAT_VERSION,
        "corpuskit_version": __version__,
        "name": recipe.name,
        "recipe_hash": recipe.hash,
        "recipe": recipe.to_dict(),
        "seed": recipe.seed,
        "sources": sources,
        "licenses": licenses,
        "non_commercial_sources": [s.name for s in recipe.sources if s.non_commercial],
        "ledger": build_ledger(recipe, stats),
        "budget": assembly.budget_report,
        "stages": stages,
        "shards": shards,
        "totals": {"docs": sum(s["rows"] for s in shards), "words": total_words},
        "synthetic": synthetic,
        "rejects": rejects,
    }
