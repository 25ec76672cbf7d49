"""Wikitext to plain text for Wiktionary definitions and examples (templates, links, formatting).

Templates are rendered by what they mean on English Wiktionary: a usage example (``{{ux|en|..}}``)
becomes its text, a mention (``{{m|en|word}}``) its word, labels (``{{lb|en|obsolete}}``) become
``(obsolete)``, form-of templates (``{{plural of|en|cat}}``) ``plural of cat``; templates with no
text of their own (requests, anchors, colour panels) and unknown ones render to nothing. Links
render as their text; bold/italic marks, tags, references and comments go. Whatever markup is
left after that (unbalanced braces or brackets in the source) is removed, so the result never
holds ``{{``, ``}}``, ``[[``, ``]]`` or ``''``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when parsing: it costs ~8 MiB, and only Wiktionary needs it
    import wikitextparser as wtp

_REFS = re.compile(r"<ref\b[^>/]*/>|<ref\b[^>]*>.*?</ref>", re.S | re.I)
_COMMENTS = re.compile(r"<!--.*?(?:-->|$)", re.S)
_DROP_LINKS = re.compile(
    r"\[\[\s*(?:Category|File|Image|Media|Thesaurus|Appendix|[a-z]{2,3}(?:-[a-z]+)?)\s*:[^\[\]]*\]\]"
)
_RESIDUE = re.compile(r"\{\{|\}\}|\[\[|\]\]|'{2,}")
_SPACES = re.compile(r"[ \t\xa0]+")
_LABEL = re.compile("\x02[^\x03]*\x03")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")

LABELS = {"lb", "lbl", "label", "term-label", "tlb", "sense", "s"}
QUALIFIERS = {"q", "qual", "qualifier", "i", "qf", "gloss", "gl"}
EXAMPLES = {"ux", "usex", "uxi", "quote", "quote-text"}
LINKS = {"l", "m", "l-self", "ll", "link", "mention", "m-self", "term"}
FIRST_ARG = {
    "w", "wikipedia", "taxlink", "taxfmt", "vern", "non-gloss definition", "n-g", "ngd",
    "non-gloss", "smallcaps", "sub", "sup", "lang", "ipachar", "nowrap", "upright", "small",
}  # fmt: skip
LITERALS = {",": ",", "=": "=", "!": "|", "...": "...", "nbsp": " ", "-": "-", "ndash": "–"}


def _positional(template: wtp.Template) -> list[str]:
    return [a.value.strip() for a in template.arguments if a.positional]


def _named(template: wtp.Template, *names: str) -> str:
    for arg in template.arguments:
        if not arg.positional and arg.name.strip() in names:
            return arg.value.strip()
    return ""


def _label(args: list[str], render: Callable[[str], str]) -> str:
    """``{{lb|en|a|_|b|and|c}}`` -> ``(a b and c)``; ``_`` joins with a space, and/or with itself.

    The label is wrapped in \x02..\x03 so that a sense holding only labels can be recognised as
    empty, and labels can be left out, after rendering.
    """
    out, sep = "", ", "
    for arg in args:
        if arg == "_":
            sep = " "
        elif arg in ("and", "or"):
            sep = f" {arg} "
        else:
            word = render(arg)
            if word:
                out += (sep if out else "") + word
            sep = ", "
    return f"\x02({out})\x03" if out else ""


def render_template(template: wtp.Template, render: Callable[[str], str]) -> str:
    """Plain text of one template; ``render`` renders the argument values (they hold markup)."""
    name = template.name.strip()
    key = name.lower()
    args = _positional(template)
    if name in LITERALS:
        return LITERALS[name]
    if key in LABELS:
        return _label(args[1:], render)
    if key in QUALIFIERS:
        words = [render(a) for a in args if a]
        return f"({', '.join(words)})" if words else ""
    if key in EXAMPLES:
        return render(args[1]) if len(args) > 1 else ""
    if key in LINKS:
        shown = args[2] if len(args) > 2 and args[2] else (args[1] if len(args) > 1 else "")
        return render(_named(template, "alt") or shown)
    if key in FIRST_ARG:
        return render(args[1] if key == "lang" and len(args) > 1 else (args[0] if args else ""))
    if key in ("1", "cap", "ucfirst"):
        text = render(args[0]) if args else ""
        return text[:1].upper() + text[1:]
    if key.endswith(" of"):
        target = args[1] if len(args) > 1 and args[0].isalpha() and len(args[0]) <= 3 else ""
        target = target or (args[0] if args else "")
        label = key.removeprefix("en-")
        return f"{label} {render(_named(template, 'alt') or target)}".strip()
    return ""


def wikitext_to_plain(text: str, *, labels: bool = True) -> str:
    """Plain text of a wikitext fragment (one definition or example line); "" if only labels."""

    def render(fragment: str) -> str:
        if (
            "{{" not in fragment
            and "[[" not in fragment
            and "'" not in fragment
            and "<" not in fragment
        ):
            return fragment
        fragment = _DROP_LINKS.sub("", _COMMENTS.sub("", _REFS.sub("", fragment)))
        import wikitextparser

        parsed = wikitextparser.parse(fragment)
        return parsed.plain_text(
            replace_templates=lambda t: render_template(t, render),
            replace_parser_functions=lambda _f: "",
        )

    plain = _RESIDUE.sub("", render(text))
    if not _SPACES.sub("", _LABEL.sub("", plain)).strip(" ,;.:"):
        return ""  # nothing but labels and punctuation: not a definition
    plain = plain.replace("\x02", "").replace("\x03", "") if labels else _LABEL.sub("", plain)
    plain = _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", plain.replace("\n", " ")))
    # An empty label or gloss leaves "()" behind; a dropped template can leave a leading comma.
    plain = plain.replace("()", "").strip(" ,;")
    return _SPACES.sub(" ", plain).strip()
