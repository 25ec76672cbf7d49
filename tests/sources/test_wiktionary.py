"""Wiktionary: English entries from the real test dump, rendering options, broken dumps, memory."""

from __future__ import annotations

import bz2
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from corpuskit.errors import InputError
from corpuskit.sources import WiktionarySource
from corpuskit.sources.wiktionary import iter_pages
from tests.sources.helpers import DATA, Read

DUMP = "wiktionary/enwiktionary-test-pages-articles.xml.bz2"
MINI = str(DATA / "mini_wiktionary.xml")


@pytest.fixture(scope="module")
def dump(data_root: Path) -> Read:
    return Read(WiktionarySource(paths=[DUMP]), data_root)


def test_every_entry_is_one_english_headword_with_clean_definitions(dump: Read) -> None:
    """Property over all entries: unique headwords, non-empty definitions, no wiki markup."""
    metas: list[dict[str, Any]] = [json.loads(d["meta"]) for d in dump.docs]
    headwords = [m["headword"] for m in metas]
    assert len(headwords) == len(set(headwords)) == len(dump.docs)
    for doc, meta in zip(dump.docs, metas, strict=True):
        for line in doc["text"].split("\n"):
            word, _, definition = line.partition("): ")
            assert word.startswith(f"{meta['headword']} (")
            assert definition.strip(), line
        for markup in ("{{", "}}", "[[", "]]", "'''"):
            assert markup not in doc["text"], (meta["headword"], markup)


def test_page_counts_match_the_dump(dump: Read) -> None:
    stats = dump.ctx.stats
    assert stats["wiktionary.pages"] == 1_394
    assert stats["wiktionary.pages"] - stats["wiktionary.pages_other_namespace"] == 1_338
    assert len(dump.docs) + stats["wiktionary.pages_without_english_definitions"] == 1_338


def test_a_known_entry_renders_templates_links_and_examples(dump: Read) -> None:
    brown = next(d for d in dump.docs if d["id"].endswith(":brown"))
    lines = brown["text"].split("\n")
    assert lines[0] == (
        "brown (noun): (countable and uncountable) A colour like that of chocolate or coffee. "
        "Example: The browns and greens in this painting give it a nice woodsy feel."
    )
    assert "brown (adjective): (obsolete) Gloomy." in lines
    assert json.loads(brown["meta"])["parts_of_speech"] == ["Noun", "Adjective", "Verb"]


def test_mini_dump_english_only_with_rendering_options() -> None:
    read = Read(WiktionarySource(paths=[MINI], name="w"))
    assert read.ids == [f"w:{Path(MINI).resolve().as_posix()}:glorp"]
    assert read.texts == [
        "glorp (noun): (informal humorous) A small green being. Example: The glorp ate my sandwich.\n"
        "glorp (noun): plural of glorpi\n"
        "glorp (verb): To move like a glorp."
    ]
    assert read.ctx.stats["w.pages_other_namespace"] == 1
    assert read.ctx.stats["w.pages_without_english_definitions"] == 1
    senses = Read(
        WiktionarySource(
            paths=[MINI],
            unit="sense",
            examples=False,
            labels=False,
            parts_of_speech=["Noun"],
            definition_template="{word}: {definition}",
        )
    )
    assert senses.texts == ["glorp: A small green being.", "glorp: plural of glorpi"]
    assert [i.rsplit("#", 1)[1] for i in senses.ids] == ["1", "2"]


@pytest.mark.parametrize("compress", [False, True])
def test_a_dump_ending_mid_page_is_a_located_error(tmp_path: Path, compress: bool) -> None:
    text = Path(MINI).read_bytes()
    cut = text[: text.index(b"<title>zzyzx")]
    path = tmp_path / ("cut.xml.bz2" if compress else "cut.xml")
    path.write_bytes(bz2.compress(cut) if compress else cut)
    with pytest.raises(
        InputError,
        match=r"cut\.xml(\.bz2)?:\d+: the XML dump breaks off inside a page \(after page 'Template:en-noun'\)",
    ):
        Read(WiktionarySource(paths=[str(path)]))


def test_a_truncated_bz2_dump_is_a_located_error(tmp_path: Path) -> None:
    data = bz2.compress(Path(MINI).read_bytes() * 3)
    path = tmp_path / "trunc.xml.bz2"
    path.write_bytes(data[: len(data) - 20])
    with pytest.raises(InputError, match=r"trunc\.xml\.bz2"):
        Read(WiktionarySource(paths=[str(path)]))


def _synthetic_dump(path: Path, pages: int) -> None:
    page = (
        "<page><title>w{n}</title><ns>0</ns><id>{n}</id><revision><text>==English==\n"
        "===Noun===\n# A [[thing]] number {n}, with {{{{gloss|some words}}}}.\n"
        "#: {{{{ux|en|This is example {n}.}}}}\n</text></revision></page>\n"
    )
    with path.open("w") as handle:
        handle.write('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/">\n')
        for n in range(pages):
            handle.write(page.format(n=n))
        handle.write("</mediawiki>\n")


def _peak_bytes(path: Path, pages_only: bool = False) -> int:
    from corpuskit.step import CheckContext, RunContext

    source = WiktionarySource(paths=[str(path)])
    ctx = RunContext(seed=0)
    tracemalloc.start()
    try:
        if pages_only:
            for page in iter_pages(path, path.name):
                del page
        else:
            for key in source.partitions(CheckContext(None)):
                for block in source.read_partition(key, ctx):
                    del block
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_page_stream_memory_does_not_grow_with_the_dump(tmp_path: Path) -> None:
    small, large = tmp_path / "s.xml", tmp_path / "l.xml"
    _synthetic_dump(small, 2_000)
    _synthetic_dump(large, 8_000)
    _peak_bytes(small, pages_only=True)  # warm-up: lazy imports must not count
    assert _peak_bytes(large, pages_only=True) < 1.3 * _peak_bytes(small, pages_only=True)


@pytest.mark.slow
def test_memory_does_not_grow_with_the_dump(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import corpuskit.sources.emit as emit

    monkeypatch.setattr(emit, "BLOCK_ROWS", 500)  # blocks far smaller than the inputs
    monkeypatch.setattr(emit.Emitter.__init__, "__defaults__", (500,))
    small, large = tmp_path / "s.xml", tmp_path / "l.xml"
    # Both dumps larger than a read chunk (textio.CHUNK_BYTES, 256 KiB): below it the peak still
    # grows with the file (77 KiB dump: 651 KiB; from 312 KiB up to 2.5 MiB dumps: 885-908 KiB).
    _synthetic_dump(small, 1_600)
    _synthetic_dump(large, 6_400)
    assert large.stat().st_size > 3.9 * small.stat().st_size
    _peak_bytes(small)  # warm-up: lazy imports must not count against the larger input
    assert _peak_bytes(large) < 1.3 * _peak_bytes(small)
