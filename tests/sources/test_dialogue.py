"""Dialogue: Switchboard in BabyLM's rendering, CHILDES CHAT main tiers, grouping, rejects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpuskit.sources import DialogueSource
from corpuskit.sources.chat import clean_chat
from tests.sources.helpers import DATA, Read


def test_switchboard_yields_the_babylm_count_in_babylm_rendering(data_root: Path) -> None:
    read = Read(DialogueSource(paths=["switchboard/swda_all_dialogues.txt.gz"]), data_root)
    assert len(read.docs) == 199_740
    assert read.rejects == []
    assert read.texts[:2] == [
        "A:\tOkay.",
        "A:\tUh, first, um, I need to know, uh, how do you feel about, uh, about sending, uh, "
        "an elderly, uh, family member to a nursing home?",
    ]
    assert all(t[:3] in ("A:\t", "B:\t") for t in read.texts)
    first = json.loads(read.docs[0]["meta"])
    assert (first["speaker"], first["tag"], first["non_commercial"]) == (
        "A",
        'fo_o_fw_"_by_bc',
        True,
    )
    assert read.ids[0] == "dialogue:switchboard/swda_all_dialogues.txt.gz:1"


def test_childes_eve_main_tiers_with_codes_removed(data_root: Path) -> None:
    read = Read(DialogueSource(paths=["childes/eve.cha"]), data_root)
    assert len(read.docs) == 1_588
    speakers = [json.loads(d["meta"])["speaker"] for d in read.docs]
    assert speakers.count("CHI") == 741
    assert read.texts[:3] == [
        "*CHI:\tmore cookie .",
        "*MOT:\tyou more cookies ?",
        "*MOT:\thow about another graham cracker ?",
    ]
    assert json.loads(read.docs[0]["meta"])["role"] == "Target_Child"
    for text in read.texts:
        body = text.split("\t", 1)[1]
        assert not any(
            mark in body for mark in ("[", "]", "<", ">", "(.)", "xxx", "&", "@", "_", "+")
        )


def test_excluding_the_child_rejects_its_utterances_with_a_reason(data_root: Path) -> None:
    read = Read(DialogueSource(paths=["childes/eve.cha"], exclude_child=True), data_root)
    assert len(read.docs) == 1_588 - 741
    assert read.reasons == {"excluded_speaker": 741}


def test_grouping_by_turns_and_by_dialogue(data_root: Path) -> None:
    turns = Read(DialogueSource(paths=["childes/eve.cha"], group="turns", turns=10), data_root)
    assert len(turns.docs) == 159  # ceil(1588 / 10)
    assert [t.count("\n") + 1 for t in turns.texts[:-1]] == [10] * 158
    assert turns.texts[-1].count("\n") + 1 == 8
    assert json.loads(turns.docs[0]["meta"])["speakers"] == {"CHI": "Target_Child", "MOT": "Mother"}
    dialogue = Read(
        DialogueSource(paths=["switchboard/swda_dialogue_2347.txt"], group="dialogue"), data_root
    )
    assert len(dialogue.docs) == 1
    assert json.loads(dialogue.docs[0]["meta"])["turns"] == 226
    assert dialogue.texts[0].startswith("B:\tUm, all right.\nA:\tI've, uh,\n")


def test_switchboard_blank_lines_separate_dialogues_and_bad_lines_are_rejected(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sw.txt"
    path.write_text("A|Hi.|fo\nB|Hello.|fo\n\nA|New talk.|sv\nnot a record\nB|Yes.|aa\n")
    read = Read(DialogueSource(paths=[str(path)], group="dialogue", name="sw"))
    assert read.texts == ["A:\tHi.\nB:\tHello.", "A:\tNew talk.\nB:\tYes."]
    assert [i.rsplit(":", 1)[1] for i in read.ids] == ["1", "4"]
    assert [(r["id"].rsplit(":", 1)[1], r["reason"]) for r in read.rejects] == [
        ("5", "malformed_record")
    ]


def test_unknown_chat_tiers_are_located_rejects() -> None:
    read = Read(DialogueSource(paths=[str(DATA / "unknown_tier.cha")], name="c"))
    assert read.texts == [
        "*CHI:\tmore juice .",
        "*MOT:\tyou want you want uh more juice ? continued here .",
        "*CHI:\t.",
    ]
    assert [(r["id"].rsplit(":", 1)[1], r["reason"]) for r in read.rejects] == [
        ("8", "malformed_record"),
        ("9", "malformed_record"),
    ]
    assert "unknown tier *XYZ" in json.loads(read.rejects[0]["meta"])["error"]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("more cookie . [+ IMP]", "more cookie ."),
        ("xxx (th)at ?", "that ?"),
        ("<little little> [/] little .", "little little little ."),
        ("you 0v more cookies ?", "you more cookies ?"),
        ("a [?] fly [= flyswatter] .", "a fly ."),
        ("quack@o [/] quack@o .", "quack quack ."),
        ("oh (.) ‡ you don't wanna talk „ Eve .", "oh you don't wanna talk Eve ."),
        ("call Grandma and talk +...", "call Grandma and talk"),
        ("m:hm &=laughs &-um ok .", "mhm um ok ."),
        ("choo_choo (..) goes \x151000_2000\x15 .", "choo choo goes ."),
    ],
)
def test_chat_code_cleaning(raw: str, clean: str) -> None:
    assert clean_chat(raw) == clean


def test_license_defaults_follow_the_data_unless_the_user_sets_them() -> None:
    chat = DialogueSource(paths=["x.cha"])
    assert chat.non_commercial and "CHILDES" in chat.license
    switchboard = DialogueSource(paths=["sw.txt.gz"], format="switchboard")
    assert switchboard.non_commercial and "SwDA" in switchboard.license
    mine = DialogueSource(paths=["x.cha"], license="my-own-recordings", non_commercial=False)
    assert (mine.license, mine.non_commercial) == ("my-own-recordings", False)
