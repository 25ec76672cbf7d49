"""What keeps a build's memory low must not change its output: read chunk size, pandas, the chart."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from PIL import Image

import corpuskit.sources.lines as lines
from corpuskit import Recipe, build
from corpuskit.waterfall_chart import _nice_step, render_waterfall_png
from tests.core.helpers import recipe_dict, shard_hashes, write_corpus

REPO = Path(__file__).resolve().parents[2]


def _rejects_hash(build_path: Path) -> str:
    (shard,) = (build_path / "rejects").glob("data-*.arrow")
    return hashlib.sha256(shard.read_bytes()).hexdigest()


@pytest.mark.parametrize("curriculum", ["input_order", "shuffle"])
def test_shard_bytes_do_not_depend_on_the_read_chunk_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, curriculum: str
) -> None:
    write_corpus(tmp_path / "corpus", files=2, lines=3000)
    recipe = Recipe.from_dict(
        recipe_dict(
            tmp_path / "corpus",
            total=None,
            min_words=3,
            curriculum={"kind": curriculum},
            output={"shard_words": 9000, "keep_rejects": True},
        )
    )
    default = build(recipe, out=tmp_path / "default")
    # 256-byte chunks: every staged block is a few lines, so batches straddle many blocks.
    monkeypatch.setattr(lines.iter_byte_chunks, "__defaults__", (256,))
    small = build(recipe, out=tmp_path / "small")
    assert len(shard_hashes(default.path)) >= 3
    assert shard_hashes(small.path) == shard_hashes(default.path)
    assert _rejects_hash(small.path) == _rejects_hash(default.path)
    assert small.manifest["shards"] == default.manifest["shards"]


def test_a_build_leaves_pandas_unimported_and_pyarrow_still_sees_it_later(
    tmp_path: Path,
) -> None:
    write_corpus(tmp_path / "corpus", files=1, lines=50)
    code = textwrap.dedent(
        f"""
        import sys
        import pyarrow as pa
        from corpuskit import Recipe, build
        recipe = Recipe.from_dict({recipe_dict(tmp_path / "corpus", total=None)!r})
        build(recipe, out={str(tmp_path / "out")!r})
        print("after build", "pandas" in sys.modules)
        import pandas as pd
        print(pa.table(pd.DataFrame({{"a": [1, 2]}})).column("a").to_pylist())
        print(pa.array(pd.Series(pd.Categorical(["x", "y", "x"]))).type)
        print(pa.table({{"b": [3]}}).to_pandas()["b"].tolist())
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert run.stdout.splitlines() == [
        "after build False",
        "[1, 2]",
        "dictionary<values=large_string, indices=int8, ordered=0>",
        "[3]",
    ]


@pytest.mark.parametrize("curriculum", ["shuffle", "ordered"])
def test_a_build_allocates_nothing_sizeable_from_arrows_cxx_default_pool(
    tmp_path: Path, curriculum: str
) -> None:
    """Calls that allocate from Arrow's C++ default pool (mimalloc), whatever pool pyarrow was
    given, keep those pages resident (``corpuskit/memory.py``): ``Table.group_by`` and
    ``to_numpy`` copies of a whole column once made 17 MiB of the #3 benchmark's peak. Only the
    IPC writer's message buffers (well under 64 KiB) may still come from it."""
    write_corpus(tmp_path / "corpus", files=2, lines=12_000)  # 8 bytes a row: ~190 KiB a column
    order = (
        {"kind": curriculum}
        if curriculum == "shuffle"
        else {"kind": curriculum, "order_by": "length"}
    )
    data = recipe_dict(
        tmp_path / "corpus",
        total=150_000,
        curriculum=order,
        dedup=[{"kind": "exact", "only_sources": ["toy"]}],
        output={"shard_words": 40_000, "keep_rejects": True},
    )
    code = textwrap.dedent(
        f"""
        import pyarrow as pa
        from corpuskit import Recipe, build
        result = build(Recipe.from_dict({data!r}), out={str(tmp_path / "out")!r})
        print(len(result.manifest["shards"]), pa.mimalloc_memory_pool().max_memory())
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    shards, cxx_pool_peak = map(int, run.stdout.split())
    assert shards >= 3
    assert cxx_pool_peak < 64 << 10


def test_waterfall_axis_steps_are_round() -> None:
    assert [_nice_step(t) for t in (1, 7, 95, 2_470_648, 10_000_045)] == [
        1,
        2,
        20,
        500_000,
        5_000_000,
    ]


def test_waterfall_png_has_a_column_per_row(tmp_path: Path) -> None:
    def row(step: str, family: str, words_in: int, words_out: int) -> dict[str, object]:
        change = words_out - words_in
        return {
            "step": step,
            "family": family,
            "words_in": words_in,
            "words_out": words_out,
            "change": change,
        }

    rows = [
        row("read", "sources", 0, 900),
        row("word_count", "filters", 900, 700),
        row("template", "generators", 700, 800),
        row("output", "shards", 800, 800),
    ]
    for n in (4, 8):
        path = tmp_path / f"w{n}.png"
        render_waterfall_png((rows * 2)[:n], "title", path)
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.size == (84 + 120 * max(n, 5) + 20, 440)


def test_stage_two_rejects_are_streamed_to_a_file_and_reach_the_rejects_shard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_module = sys.modules["corpuskit.build"]  # the package exports build(), the function

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = [f"sentence number {i} is here" for i in range(30)]
    (corpus / "a.txt").write_text("\n".join(lines + lines[:12]) + "\n", encoding="utf-8")
    seen = []
    original = build_module.assemble

    def spy(*args: object, **kwargs: object) -> object:
        assembly = original(*args, **kwargs)
        seen.append((list(assembly.rejects), assembly.rejects_file))
        return assembly

    monkeypatch.setattr(build_module, "assemble", spy)
    data = recipe_dict(corpus, total=None, dedup=[{"kind": "exact"}])
    data["output"] = {"keep_rejects": True}
    result = build(Recipe.from_dict(data), out=tmp_path / "out")
    ((held, rejects_file),) = seen
    assert held == [] and rejects_file is not None and rejects_file.endswith("stage2.rejects.arrow")
    assert not Path(rejects_file).exists()  # the work directory is gone after publishing
    rejects = pa.concat_tables(
        pa.ipc.open_stream(p.read_bytes()).read_all()
        for p in sorted((result.path / "rejects").glob("data-*.arrow"))
    )
    dropped = rejects.filter(pc.equal(rejects["step"], "exact"))
    assert dropped.num_rows == 12
    assert sorted(dropped["text"].to_pylist()) == sorted(lines[:12])
    assert result.manifest["totals"]["docs"] == 30
