"""Prompt templates (fields, strict rendering), built-in prompt sets, reply parsing, validation."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpuskit.generators.parsing import (
    _MARKER,
    ParseError,
    normalise,
    parse_reply,
    validate_outputs,
)
from corpuskit.generators.prompts import (
    DOC_FIELDS,
    TemplateError,
    check_fields,
    compile_template,
    get_prompt_set,
    phenomena,
    prompt_hash,
    prompt_sets,
)


def test_jinja_and_format_templates_list_their_fields() -> None:
    assert compile_template(
        "{{ text }} {{ meta.lang }} {% for x in xs %}{{ x }}{% endfor %}"
    ).fields == {"text", "meta", "xs"}
    assert compile_template("{text} / {meta[lang]} / {k}", "format").fields == {"text", "meta", "k"}


def test_rendering_is_strict_about_missing_fields() -> None:
    template = compile_template("Hi {{ name }} from {{ meta.city }}")
    assert template.render({"name": "Ann", "meta": {"city": "Oslo"}}) == "Hi Ann from Oslo"
    with pytest.raises(TemplateError, match="city"):
        template.render({"name": "Ann", "meta": {}})
    with pytest.raises(TemplateError, match="'k'"):
        compile_template("{text} {k}", "format").render({"text": "x"})


def test_unknown_field_is_named_with_a_suggestion() -> None:
    with pytest.raises(TemplateError) as exc:
        check_fields(compile_template("Rewrite: {{ txt }}"), DOC_FIELDS, "user")
    assert str(exc.value) == (
        "user template references unknown field 'txt' (hint: did you mean text?)"
    )


def test_bad_templates_are_rejected() -> None:
    with pytest.raises(TemplateError, match="bad jinja template"):
        compile_template("{{ text ")
    with pytest.raises(TemplateError, match="positional"):
        compile_template("{} and {}", "format")


def test_built_in_prompt_sets_and_phenomena() -> None:
    assert sorted(prompt_sets()) == ["grammar_book", "grammar_examples", "paraphrase", "qa"]
    assert get_prompt_set("paraphrase").parse == "lines"
    assert get_prompt_set("qa").json_schema is not None
    with pytest.raises(TemplateError, match="did you mean paraphrase"):
        get_prompt_set("paraphrse")
    found = phenomena()
    assert len(found) == 12
    assert all(p.examples and p.description.endswith(".") for p in found.values())
    assert prompt_hash("a", "b") != prompt_hash("ab", "")  # parts are delimited


def test_parse_text_lines_and_json() -> None:
    assert parse_reply("  Hello there.\n", "text") == ["Hello there."]
    assert parse_reply("1. One.\n\n2) Two.\n- Three.\n* Four.\n(5) Five.", "lines") == [
        "One.",
        "Two.",
        "Three.",
        "Four.",
        "Five.",
    ]
    schema = get_prompt_set("qa").json_schema
    reply = '```json\n[{"question": "Who?", "answer": "Me."}]\n```'
    out = parse_reply(
        reply, "json", json_schema=schema, output_template="Q: {{ question }} A: {{ answer }}"
    )
    assert out == ["Q: Who? A: Me."]
    assert parse_reply('["a b", "c"]', "json") == ["a b", "c"]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("   ", "empty_reply"),
        ("[{'question': 1}]", "bad_json"),
        ('[{"question": "only"}]', "schema_mismatch"),
        ("[]", "schema_mismatch"),
    ],
)
def test_parse_failures_have_reasons(reply: str, reason: str) -> None:
    with pytest.raises(ParseError) as exc:
        parse_reply(
            reply,
            "json",
            json_schema=get_prompt_set("qa").json_schema,
            output_template="{{ question }}",
        )
    assert exc.value.reason == reason


def test_validate_outputs_rejects_short_long_copies_and_duplicates() -> None:
    seen: set[str] = set()
    verdicts = validate_outputs(
        [
            "The cat sat.",
            "the CAT sat!",
            "A feline was sitting.",
            "A feline was sitting",
            "Hi",
            "one two three four five six",
        ],
        "The cat sat.",
        min_words=2,
        max_words=5,
        drop_copies=True,
        seen=seen,
    )
    assert [reason for _, reason in verdicts] == [
        "copy_of_seed",
        "copy_of_seed",
        None,
        "duplicate_output",
        "too_short",
        "too_long",
    ]
    assert seen == {"a feline was sitting"}


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=30),
        min_size=1,
        max_size=8,
    )
)
def test_lines_mode_yields_stripped_non_empty_lines(lines: list[str]) -> None:
    reply = "\n".join(lines)
    if not any(_MARKER.sub("", line).strip() for line in reply.splitlines()):
        with pytest.raises(ParseError, match="empty_reply"):
            parse_reply(reply, "lines")
        return
    out = parse_reply(reply, "lines")
    assert out and all(o == o.strip() and o for o in out)
    assert len(out) <= len(reply.splitlines())


@given(st.text(max_size=60))
def test_normalise_is_idempotent(text: str) -> None:
    assert normalise(normalise(text)) == normalise(text)


def test_json_objects_need_an_output_template() -> None:
    with pytest.raises(ParseError) as exc:
        parse_reply(json.dumps([{"a": 1}]), "json")
    assert exc.value.reason == "schema_mismatch"
