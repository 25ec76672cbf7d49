"""A recipe mixing several sources builds end to end, with provenance, licenses and stable ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from corpuskit import Recipe, build, read_shards
from corpuskit.errors import RecipeError
from tests.core.helpers import shard_hashes
from tests.sources.helpers import DATA


def _recipe(tmp_path: Path) -> dict[str, Any]:
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"text": "a note of my own"}\nbroken line\n{"text": "another note"}\n')
    return {
        "name": "mix",
        "seed": 3,
        "sources": [
            {
                "kind": "dialogue",
                "name": "switchboard",
                "paths": ["switchboard/swda_dialogue_2347.txt"],
            },
            {
                "kind": "dialogue",
                "name": "childes",
                "paths": ["childes/eve.cha"],
                "exclude_child": True,
            },
            {
                "kind": "text",
                "name": "gutenberg",
                "paths": ["gutenberg/pg11.txt"],
                "unit": "paragraph",
                "license": "public-domain",
            },
            {
                "kind": "paraphrase_pairs",
                "name": "mrpc",
                "format": "mrpc",
                "positives_only": True,
                "paths": ["paraphrase/mrpc/msr_paraphrase_test.txt"],
            },
            {"kind": "wiktionary", "name": "wikt", "paths": [str(DATA / "mini_wiktionary.xml")]},
            {"kind": "jsonl", "name": "notes", "paths": [str(notes)]},
        ],
    }


def test_mixed_recipe_builds_with_ledger_licenses_and_fingerprints(
    tmp_path: Path, data_root: Path
) -> None:
    result = build(
        Recipe.from_dict(_recipe(tmp_path)), out=tmp_path / "o1", data_root=data_root, workers=1
    )
    manifest = result.manifest
    ledger = {row["step"]: row for row in manifest["ledger"] if row["family"] == "sources"}
    assert ledger["switchboard"]["docs_out"] == 226
    assert ledger["childes"]["docs_in"] == 1_588
    assert ledger["childes"]["docs_out"] == 847
    assert ledger["childes"]["dropped"]["excluded_speaker"]["docs"] == 741
    assert ledger["notes"]["dropped"]["malformed_record"]["docs"] == 1
    assert ledger["mrpc"]["docs_in"] == 1_725
    assert (
        manifest["rejects"]["rows"] == 741 + 1 + ledger["mrpc"]["dropped"]["negative_pair"]["docs"]
    )
    assert set(manifest["non_commercial_sources"]) == {"switchboard", "childes", "mrpc"}
    assert "gutenberg/pg11.txt" in manifest["inputs"]
    assert "childes/eve.cha" in manifest["inputs"]
    sources = {doc.source for doc in read_shards(result.path)}
    assert sources == {"switchboard", "childes", "gutenberg", "mrpc", "wikt", "notes"}


def test_ids_and_shards_do_not_depend_on_the_worker_count(tmp_path: Path, data_root: Path) -> None:
    recipe = Recipe.from_dict(_recipe(tmp_path))
    one = build(recipe, out=tmp_path / "w1", data_root=data_root, workers=1)
    two = build(recipe, out=tmp_path / "w2", data_root=data_root, workers=2)
    assert sorted(d.id for d in read_shards(one.path)) == sorted(
        d.id for d in read_shards(two.path)
    )
    assert shard_hashes(one.path) == shard_hashes(two.path)


def test_validation_reports_a_missing_input_file(tmp_path: Path, data_root: Path) -> None:
    data = _recipe(tmp_path)
    data["sources"][1]["paths"] = ["childes/no_such_file.cha"]
    with pytest.raises(
        RecipeError, match=r"sources\[1\].*no file matches 'childes/no_such_file.cha'"
    ):
        Recipe.from_dict(data).check(data_root)


def test_every_source_kind_is_registered() -> None:
    from corpuskit.registry import step_kinds

    kinds = set(step_kinds()["sources"])
    assert {
        "text",
        "jsonl",
        "csv",
        "tsv",
        "parquet",
        "arrow",
        "hf_dataset",
        "wiktionary",
        "paraphrase_pairs",
        "dialogue",
        "qa",
        "instruction",
        "documents",
    } <= kinds
