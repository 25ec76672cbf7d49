"""Decontamination against BLiMP, GLUE, SuperGLUE, EWoK and user files."""

from __future__ import annotations

import gzip
import json
import random
import re
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from corpuskit.dedup import DecontaminateDedup, EvalSet
from corpuskit.dedup.normalize import Normalization
from corpuskit.dedup.segments import split_segments
from corpuskit.document import Document, docs_to_block
from corpuskit.errors import InputError
from corpuskit.step import RunContext

BOOKS = ["pg11", "pg16", "pg236", "pg1342", "pg1661"]
NORM = Normalization()


def paragraphs(data_root: Path) -> list[Document]:
    docs = []
    for book in BOOKS:
        text = (data_root / "gutenberg" / f"{book}.txt").read_text(encoding="utf-8")
        for i, para in enumerate(re.split(r"\n\s*\n", text)):
            joined = " ".join(para.split())
            if joined:
                docs.append(Document(f"{book}:{i:05d}", joined, "books"))
    return docs


def blimp_items(data_root: Path) -> list[str]:
    items = []
    for path in sorted((data_root / "blimp").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                items += [record["sentence_good"], record["sentence_bad"]]
    return items


def variant(sentence: str, k: int) -> str:
    """Case and punctuation variants that keep a sentence end (so the sentence stays separate)."""
    body = sentence.rstrip(".?!")
    end = sentence[len(body) :] or "."
    return [
        sentence,
        body.lower() + end,
        body.upper() + "!",
        body.replace(" ", " , ", 1) + " ...",
        '"' + body + end + '"',
    ][k % 5]


def tokens(text: str) -> list[str]:
    return NORM.one(text).split()


def overlaps(sentence: str, items: list[str], n: int = 8, min_words: int = 4) -> bool:
    """Independent check: does ``sentence`` share what decontaminate looks for with any item?"""
    toks = tokens(sentence)
    grams = {tuple(toks[i : i + k]) for k in range(1, n + 1) for i in range(len(toks) - k + 1)}
    for item in items:
        it = tokens(item)
        if it == toks:
            return True
        if min_words <= len(it) < n and tuple(it) in grams:
            return True
        if len(it) >= n and any(tuple(it[i : i + n]) in grams for i in range(len(it) - n + 1)):
            return True
    return False


@pytest.fixture(scope="module")
def blimp(data_root: Path) -> list[str]:
    return blimp_items(data_root)


def test_planted_blimp_sentences_are_removed_and_books_kept(
    data_root: Path, blimp: list[str]
) -> None:
    rng = random.Random(11)
    docs = paragraphs(data_root)
    planted = rng.sample(blimp, 100)
    targets = rng.sample(range(len(docs)), 100)
    texts = [d.text for d in docs]
    for k, (item, target) in enumerate(zip(planted, targets, strict=True)):
        sentences = split_segments(texts[target], "sentence")
        at = rng.randrange(len(sentences) + 1)
        texts[target] = " ".join([*sentences[:at], variant(item, k), *sentences[at:]])
    table = docs_to_block(Document(d.id, t, d.source) for d, t in zip(docs, texts, strict=True))
    ctx = RunContext(seed=0, data_root=data_root)
    out = DecontaminateDedup(sets=["blimp"], unit="sentence").apply(table, ctx, "decontaminate")

    out_norm = " | ".join(NORM.apply(out["text"]).to_pylist())
    for item in planted:
        assert f" {NORM.one(item)} " not in f" {out_norm} ", item
    before = Counter(s for d in docs for s in split_segments(d.text, "sentence"))
    after = Counter(s for t in out["text"].to_pylist() for s in split_segments(t, "sentence"))
    removed_originals = before - after
    count = sum(removed_originals.values())
    print(f"original book sentences removed: {count} of {sum(before.values())}")
    assert all(overlaps(s, blimp) for s in removed_originals), removed_originals
    assert count == 0
    words_in = sum(table["words"].to_pylist())
    words_out = sum(out["words"].to_pylist())
    rejected = sum(sum(r["words"].to_pylist()) for r in ctx.rejects)
    assert words_in == words_out + rejected  # removed sentences are accounted word for word
    assert ctx.reports["decontaminate"]["by_set"]["blimp"]["docs"] == 100 + count


def test_document_mode_drops_whole_documents(data_root: Path) -> None:
    docs = [
        Document("a", "It rained all day. Who should Derek hug after shocking Richard? Then", "s"),
        Document("b", "Nothing in here is from an evaluation set, I promise you.", "s"),
        Document("c", "KARLA COULD LISTEN TO HIMSELF!", "s"),
        Document(
            "d",
            "Premise: These include toys, books, television, computers, special "
            "lessons, weekend outings and more",
            "t",
        ),
    ]
    step = DecontaminateDedup(sets=["blimp", "glue"])
    ctx = RunContext(seed=0, data_root=data_root)
    assert list(step.duplicates(docs_to_block(docs), ctx)) == [
        "contaminated_blimp",
        None,
        "contaminated_blimp",
        "contaminated_glue",
    ]
    report = ctx.reports["decontaminate"]
    assert report["by_set"]["glue"]["docs"] == 1
    assert report["removed_by_source"] == {
        "s": {"docs": 2, "words": 17},
        "t": {"docs": 1, "words": 13},
    }


def test_short_items_match_only_whole_sentences(tmp_path: Path) -> None:
    items = tmp_path / "items.txt"
    items.write_text("Bill left.\nthe old man sat down quietly\n", encoding="utf-8")
    spec = EvalSet(name="mine", paths=[str(items)])
    docs = [
        Document("a", "Bill left.", "s"),  # whole sentence: match
        Document("b", "When Bill left the room, we cheered.", "s"),  # 2-word item inside: no
        Document("c", "Then the old man sat down quietly by the fire.", "s"),  # 6 words inside
    ]
    reasons = DecontaminateDedup(sets=[spec]).duplicates(docs_to_block(docs), RunContext(seed=0))
    assert list(reasons) == ["contaminated_mine", None, "contaminated_mine"]


def test_superglue_and_user_jsonl_fields(data_root: Path, tmp_path: Path) -> None:
    record = json.loads((data_root / "superglue_fewglue/COPA/train.jsonl").open().readline())
    user = tmp_path / "qa.jsonl"
    user.write_text(json.dumps({"q": {"text": "what colour is the sky on a clear day"}}) + "\n")
    docs = [
        Document("a", f"Story time. {record['choice1']}", "s"),
        Document("b", "Tell me: What colour is the sky on a clear day?", "s"),
        Document("c", "Our kettle whistles loudly whenever grandmother naps.", "s"),
    ]
    step = DecontaminateDedup(
        sets=["superglue", EvalSet(name="qa", paths=[str(user)], fields=["q.text"])]
    )
    reasons = step.duplicates(docs_to_block(docs), RunContext(seed=0, data_root=data_root))
    assert list(reasons) == ["contaminated_superglue", "contaminated_qa", None]


def test_ewok_is_read_from_the_zip_without_writing_plain_text(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from corpuskit.dedup.evalsets import BUILTIN_SETS, load_items

    monkeypatch.chdir(tmp_path)
    items = load_items(BUILTIN_SETS["ewok"], data_root)
    canaries = [i for i in items if re.fullmatch(r"[0-9a-f-]{36}", i)]
    assert len(canaries) == 2
    doc = Document("a", f"some scraped page with canary {canaries[0]} in it", "web")
    ctx = RunContext(seed=0, data_root=data_root)
    reasons = DecontaminateDedup(sets=["ewok"]).duplicates(docs_to_block([doc]), ctx)
    assert list(reasons) == ["contaminated_ewok"]
    # EWoK text never goes into reports (its terms forbid plain-text redistribution)
    assert ctx.reports["decontaminate"]["by_set"]["ewok"]["examples"] == [{"id": "a"}]
    assert list(tmp_path.iterdir()) == []


def test_unknown_set_and_missing_file(tmp_path: Path) -> None:
    docs = docs_to_block([Document("a", "x y z", "s")])
    with pytest.raises(InputError, match="unknown evaluation set"):
        DecontaminateDedup(sets=["blimpp"]).duplicates(docs, RunContext(seed=0))
    spec = EvalSet(name="gone", paths=[str(tmp_path / "missing.txt")])
    with pytest.raises(InputError, match="no file matches"):
        DecontaminateDedup(sets=[spec]).duplicates(docs, RunContext(seed=0))


def test_only_sources_limits_the_step(data_root: Path) -> None:
    docs = [
        Document("a", "Karla could listen to himself.", "s"),
        Document("b", "Karla could listen to himself.", "t"),
    ]
    step = DecontaminateDedup(only_sources=["t"])
    reasons = step.duplicates(docs_to_block(docs), RunContext(seed=0, data_root=data_root))
    assert list(reasons) == [None, "contaminated_blimp"]
    assert pa.array(reasons).null_count == 1
