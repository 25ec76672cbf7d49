"""End-to-end local builds: determinism, budgets, rejects, caching, overwrite and resume."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from corpuskit import Recipe, build, count_words, open_build, read_shards, verify
from corpuskit.errors import FormatVersionError, OutputExistsError
from tests.core.helpers import recipe_dict, shard_hashes, write_corpus


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    write_corpus(tmp_path / "corpus")
    return tmp_path / "corpus"


def test_build_is_byte_identical_across_runs_and_worker_counts(
    tmp_path: Path, corpus: Path
) -> None:
    recipe = Recipe.from_dict(recipe_dict(corpus))
    one = build(recipe, out=tmp_path / "w1", workers=1)
    two = build(recipe, out=tmp_path / "w2", workers=2)
    again = build(recipe, out=tmp_path / "again", workers=2)
    assert len(shard_hashes(one.path)) == 3  # 2000 words at 700 per shard
    assert shard_hashes(one.path) == shard_hashes(two.path) == shard_hashes(again.path)
    assert one.path.name == recipe.hash


def test_load_from_disk_words_match_manifest_and_budget(tmp_path: Path, corpus: Path) -> None:
    result = build(Recipe.from_dict(recipe_dict(corpus)), out=tmp_path / "out", workers=2)
    dataset = datasets.load_from_disk(str(result.path))
    total = sum(count_words(text) for text in dataset["text"])
    assert total == result.manifest["totals"]["words"]
    assert 0.999 * 2000 <= total <= 2000
    assert dataset["words"] == [count_words(t) for t in dataset["text"]]
    assert verify(result.path) == []
    assert [d.id for d in read_shards(result.path)] == dataset["id"]


def test_ledger_accounts_for_every_document(tmp_path: Path, corpus: Path) -> None:
    result = build(Recipe.from_dict(recipe_dict(corpus, total=None)), out=tmp_path / "o")
    source_row, filter_row = result.manifest["ledger"]
    assert source_row["docs_out"] == filter_row["docs_in"]
    dropped = filter_row["dropped"]["too_short"]
    assert filter_row["docs_in"] - filter_row["docs_out"] == dropped["docs"]
    assert result.manifest["rejects"]["rows"] == dropped["docs"]
    rejects = datasets.load_from_disk(str(result.path / "rejects"))
    assert set(rejects["reason"]) == {"too_short"}
    assert all(count_words(t) < 2 for t in rejects["text"])
    assert result.manifest["totals"]["words"] == filter_row["words_out"]


def test_output_is_independent_of_input_file_order(tmp_path: Path, corpus: Path) -> None:
    forward = recipe_dict(corpus)
    forward["sources"][0]["paths"] = [str(corpus / "part0.txt"), str(corpus / "part[1-3].txt")]
    backward = recipe_dict(corpus)
    backward["sources"][0]["paths"] = [str(corpus / "part[1-3].txt"), str(corpus / "part0.txt")]
    a = build(Recipe.from_dict(forward), out=tmp_path / "a")
    b = build(Recipe.from_dict(backward), out=tmp_path / "b")
    assert shard_hashes(a.path) == shard_hashes(b.path)


def test_non_utf8_line_is_rejected_with_location_and_build_continues(tmp_path: Path) -> None:
    corpus = tmp_path / "bad"
    corpus.mkdir()
    (corpus / "x.txt").write_bytes(b"good line one\nbad \xff\xfe bytes here\ngood line three\n")
    result = build(Recipe.from_dict(recipe_dict(corpus, total=None)), out=tmp_path / "o")
    assert [d.text for d in read_shards(result.path)] != []
    assert sorted(d.text for d in read_shards(result.path)) == ["good line one", "good line three"]
    rejects = datasets.load_from_disk(str(result.path / "rejects"))
    assert rejects["reason"] == ["decode_error"]
    assert rejects["id"] == [f"toy:{corpus / 'x.txt'}:2"]
    assert rejects["text"] == ["bad \ufffd\ufffd bytes here"]
    assert result.manifest["ledger"][0]["dropped"] == {"decode_error": {"docs": 1, "words": 4}}


def test_rebuild_reuses_and_changed_inputs_need_overwrite(tmp_path: Path, corpus: Path) -> None:
    recipe = Recipe.from_dict(recipe_dict(corpus))
    first = build(recipe, out=tmp_path / "o")
    assert build(recipe, out=tmp_path / "o").cached
    with (corpus / "part0.txt").open("a") as handle:
        handle.write("one more line with several words\n")
    with pytest.raises(OutputExistsError, match="different input files"):
        build(recipe, out=tmp_path / "o")
    replaced = build(recipe, out=tmp_path / "o", overwrite=True)
    assert replaced.path == first.path and not replaced.cached
    assert replaced.manifest["declared_inputs"] != first.manifest["declared_inputs"]


def test_interrupted_build_leaves_no_output_and_resumes(tmp_path: Path, corpus: Path) -> None:
    from corpuskit.filters import filter_function

    state: dict = {"files": set(), "crash": True}

    @filter_function("crash_on_third_file_once")
    def crash_on_third_file_once(doc):  # type: ignore[no-untyped-def]
        if state["crash"] and "part2.txt" in doc.id:
            raise RuntimeError("simulated crash")
        state["files"].add(doc.id.split(":")[1].rsplit("/", 1)[-1])
        return True

    data = recipe_dict(corpus)
    data["filters"].append({"kind": "crash_on_third_file_once"})
    recipe = Recipe.from_dict(data)
    with pytest.raises(RuntimeError, match="simulated crash"):
        build(recipe, out=tmp_path / "o", workers=1)
    assert not (tmp_path / "o" / "t" / recipe.hash).exists()
    finished = sorted(p.name for p in (tmp_path / "o" / "t").glob(".work-*/*.json"))
    assert finished == ["part-00000.json", "part-00001.json"]
    state["crash"], state["files"] = False, set()
    resumed = build(recipe, out=tmp_path / "o", workers=1)
    assert state["files"] == {"part2.txt", "part3.txt"}  # finished partitions were not re-read
    reference = build(recipe, out=tmp_path / "ref", workers=2)
    assert shard_hashes(resumed.path) == shard_hashes(reference.path)
    assert not list((tmp_path / "o" / "t").glob(".work-*"))


def test_reader_refuses_unknown_major_format(tmp_path: Path, corpus: Path) -> None:
    result = build(Recipe.from_dict(recipe_dict(corpus)), out=tmp_path / "o")
    manifest = json.loads((result.path / "manifest.json").read_text())
    manifest["format_version"] = "2.0"
    (result.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FormatVersionError, match="format version 2.0"):
        open_build(result.path)
