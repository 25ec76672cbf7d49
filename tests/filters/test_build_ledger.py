"""Filtering the shared Gutenberg + Switchboard + CHILDES data: per-reason ledger and rejects."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

import corpuskit
from corpuskit.build import plan_tasks
from corpuskit.filters.base import as_string_array
from corpuskit.shards import read_arrow_stream
from corpuskit.step import CheckContext, RunContext

RECIPE = {
    "name": "filtered-mix",
    "sources": [
        {"kind": "text", "name": "gutenberg", "paths": ["gutenberg/pg11.txt"], "unit": "paragraph"},
        {"kind": "text", "name": "switchboard", "paths": ["switchboard/swda_all_dialogues.txt.gz"]},
        {"kind": "dialogue", "name": "childes", "paths": ["childes/eve.cha"]},
    ],
    "filters": [
        {"kind": "normalize_whitespace"},
        {"kind": "word_count", "min_words": 3},
        {"kind": "speaker_role", "exclude_roles": ["Target_Child"], "only_sources": ["childes"]},
        {"kind": "english", "only_sources": ["gutenberg"]},
        {"kind": "gopher_repetition", "only_sources": ["gutenberg"]},
        {"kind": "blocklist", "words": ["uh-huh"]},
    ],
    "curriculum": {"kind": "input_order"},
}


def expected_drops(recipe: corpuskit.Recipe, root: Path) -> Counter[tuple[str, str, str]]:
    """(step, reason, docs|words) counts, from running the steps on the source blocks directly."""
    counts: Counter[tuple[str, str, str]] = Counter()
    labels = [step.kind for step in recipe.filters]  # every kind appears once here
    for task in plan_tasks(recipe, CheckContext(root)):
        source = recipe.sources[task.source_index]
        for block in source.read_partition(task.key, RunContext(seed=0, data_root=root)):
            for label, step in zip(labels, recipe.filters, strict=True):
                if step.family == "filters" and hasattr(step, "drop_reasons_block"):
                    applies = step.applies_mask(block)
                    sub = block if applies is None else block.filter(applies)
                    reasons = as_string_array(step.drop_reasons_block(sub)).to_pylist()
                    for reason, words in zip(reasons, sub["words"].to_pylist(), strict=True):
                        if reason is not None:
                            counts[(label, reason, "docs")] += 1
                            counts[(label, reason, "words")] += words
                    dropped_ids = {
                        i for i, r in zip(sub["id"].to_pylist(), reasons, strict=True) if r
                    }
                    keep = pc.invert(
                        pc.is_in(block["id"], pa.array(sorted(dropped_ids), pa.string()))
                    )
                    block = block.filter(keep)
                else:
                    block = step.map_block(block)
    return counts


def test_ledger_counts_every_drop_per_reason(data_root: Path, tmp_path: Path) -> None:
    recipe = corpuskit.Recipe.from_dict(RECIPE)
    result = corpuskit.build(recipe, out=tmp_path, data_root=data_root, workers=2)
    ledger = {row["step"]: row for row in result.manifest["ledger"]}
    got: Counter[tuple[str, str, str]] = Counter()
    for step in RECIPE["filters"]:
        for reason, counts in ledger[step["kind"]]["dropped"].items():
            got[(step["kind"], reason, "docs")] += counts["docs"]
            got[(step["kind"], reason, "words")] += counts["words"]
    assert got == expected_drops(recipe, data_root)
    # each step drops something from this data, with the reasons the filters declare
    assert set(ledger["speaker_role"]["dropped"]) == {"excluded_role"}
    assert set(ledger["word_count"]["dropped"]) == {"too_short"}
    assert ledger["blocklist"]["dropped"]["blocklisted"]["docs"] > 0
    assert ledger["gopher_repetition"]["dropped"]
    # the rejects shard holds exactly the dropped documents, with their step and reason
    rejects = pa.concat_tables(
        read_arrow_stream(p) for p in sorted((result.path / "rejects").rglob("*.arrow"))
    )
    by_reason = Counter(
        (r["step"], r["reason"]) for r in rejects.select(["step", "reason"]).to_pylist()
    )
    assert {(s, r): n for (s, r, unit), n in got.items() if unit == "docs"} == {
        k: v for k, v in by_reason.items() if k[0] in ledger and ledger[k[0]]["family"] == "filters"
    }
    # what reaches the shards is what the ledger says leaves the last filter
    assert result.manifest["totals"]["docs"] == ledger["blocklist"]["docs_out"]
