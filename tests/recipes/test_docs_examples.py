"""Every code example in README.md and docs/ runs, or validates against the schema, as written.

A newcomer copies these blocks; each test runs one from a scratch directory holding only the
repository's `recipes/` (as if run from the repository root), with `<hash>` replaced by the hash
of the build the block is about. The inventory tests fail when a page gains a block that no test
runs, so new examples cannot silently go stale.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from corpuskit import Recipe, build, open_build
from corpuskit.cli import app

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
PAGES = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]

# Every ```python block, by page: the test that runs it.
PYTHON_BLOCKS = {
    "README.md": 1,  # test_readme_tutorial_and_shard_format_python_run
    "tutorial.md": 1,  # same
    "shard-format.md": 1,  # same
    "writing-a-filter.md": 6,  # tests/filters/test_docs_writing_a_filter.py
    "training.md": 2,  # test_training_python_runs (slow); tests/trainers/test_hf_export.py
    "generators.md": 1,  # test_generators_python_runs (slow)
}
# Every ```yaml block, by page: validated by the test named after the page.
YAML_BLOCKS = {
    "tutorial.md": 1,  # tests/recipes/test_docs.py builds it
    "budgets-and-curricula.md": 2,
    "dedup.md": 2,
    "generators.md": 1,
    "evaluation.md": 1,
}


def blocks(page: Path, lang: str) -> list[str]:
    """The fenced blocks of one language ("" for none) on a page, dedented (a list item's too)."""
    found: list[str] = []
    current: list[str] | None = None
    indent, open_lang = 0, ""
    for line in page.read_text().splitlines(keepends=True):
        fence = re.match(r"( *)```(\w*)\s*$", line)
        if current is None and fence:
            current, indent, open_lang = [], len(fence[1]), fence[2]
        elif current is not None and fence and len(fence[1]) == indent and not fence[2]:
            if open_lang == lang:
                found.append("".join(current))
            current = None
        elif current is not None:
            current.append(line[indent:])
    assert current is None, f"{page.name}: unclosed code fence"
    return found


def block(name: str, lang: str, index: int = 0) -> str:
    page = REPO / name if name == "README.md" else DOCS / name
    return blocks(page, lang)[index]


def run_python(source: str, name: str, **names: Any) -> str:
    """Run a block in a fresh namespace (plus ``names``) and return what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(source, name, "exec"), {"__name__": "docs_example", **names})
    return printed.getvalue()


@pytest.fixture
def newcomer_dir(data_root: Path, chdir_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch directory with the repository's recipes and trainer configs, data root set."""
    monkeypatch.setenv("CORPUSKIT_DATA", str(data_root))
    for name in ("recipes", "trainers"):
        (chdir_tmp / name).symlink_to(REPO / name)
    return chdir_tmp


@pytest.mark.parametrize(("lang", "expected"), [("python", PYTHON_BLOCKS), ("yaml", YAML_BLOCKS)])
def test_every_example_block_is_run_by_a_test(lang: str, expected: dict[str, int]) -> None:
    found = {page.name: len(blocks(page, lang)) for page in PAGES if blocks(page, lang)}
    assert found == expected


def test_readme_tutorial_and_shard_format_python_run(newcomer_dir: Path) -> None:
    run_python(block("README.md", "python"), "README.md")
    full = Recipe.from_yaml("recipes/quickstart.yaml")
    assert open_build(f"out/quickstart/{full.hash}").manifest["totals"]["words"] == 100_000

    small = Recipe.from_yaml("recipes/quickstart.yaml").with_budget(20_000)  # tutorial section 4
    built = build(small, out="out")
    tutorial = block("tutorial.md", "python").replace("<hash>", small.hash)
    printed = run_python(tutorial, "tutorial.md")
    totals = built.manifest["totals"]
    docs = list(built.open().documents())
    assert (len(docs), totals["words"]) == (totals["docs"], 20_000)
    shown = [f"{d.source} {d.words} {d.text[:60]}" for d in docs]
    assert printed == "\n".join([str({"docs": len(docs), "words": 20_000}), *shown]) + "\n"

    # shard-format.md reads the `qa` stage: run it on the CLASS-IT sequential recipe's build.
    staged = Recipe.from_yaml("recipes/class-it-sequential.yaml").with_budget(2_000)
    build(staged, out="out")
    names: dict[str, Any] = {}
    shard_format = block("shard-format.md", "python").replace("<hash>", staged.hash)
    exec(compile(shard_format, "shard-format.md", "exec"), names)
    qa = next(s for s in names["build"].stages if s["name"] == "qa")
    assert {doc.source for doc in names["docs"]} == {"boolq"}
    assert (qa["words"], len(names["ds"])) == (200, names["build"].manifest["totals"]["docs"])

    # The tutorial's "look at a build" commands, on these two builds of quickstart.
    (look,) = [b for b in blocks(DOCS / "tutorial.md", "bash") if b.startswith("corpuskit ls-b")]
    filled = look.replace("<hashA>", full.hash).replace("<hashB>", small.hash)
    outputs = []
    for line in filled.replace("<hash>", small.hash).splitlines():
        argv = shlex.split(line, comments=True)
        result = CliRunner().invoke(app, argv[1:])
        assert result.exit_code == 0, f"{line}\n{result.output}"
        outputs.append(result.stdout)
    assert [shlex.split(line)[1] for line in look.splitlines()] == [
        "ls-builds",
        "inspect",
        "verify",
        "diff",
    ]
    assert outputs[2] == f"out/quickstart/{small.hash}: ok\n"
    budget_title = "budget: 20,000 of 20,000 words selected (truncate: word, on_short: error)"
    inspected = [line.strip() for line in outputs[1].splitlines()]
    assert budget_title in inspected
    for key, row in built.manifest["budget"]["keys"].items():  # 10,000 / 9,000 / 1,000 words
        shown = f"│ {key} │ {row['available']:,} │ {row['requested']:,} │ {row['selected']:,} │"
        assert any(" ".join(line.split()).startswith(shown) for line in inspected), shown
    assert "budget.total" in outputs[3] and "100,000" in outputs[3]


@pytest.mark.slow
def test_training_python_runs(newcomer_dir: Path) -> None:
    recipe = Recipe.from_yaml("recipes/quickstart.yaml")
    build(recipe, out="out")
    namespace_source = block("training.md", "python").replace("<hash>", recipe.hash)
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    exec(compile(namespace_source, "training.md", "exec"), namespace)
    assert (namespace["run"] / "metrics.json").is_file()
    assert namespace["model"].objective == "causal"


@pytest.mark.slow
def test_generators_python_runs(newcomer_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "anything")
    run_python(block("generators.md", "python"), "generators.md")
    (manifest,) = [open_build(p.parent).manifest for p in Path("out").glob("*/*/manifest.json")]
    assert manifest["name"] == "paraphrase"
    assert 0 < manifest["synthetic"]["words"] <= 1_000


def documents_source(name: str) -> dict[str, Any]:
    words = " ".join(f"w{i}" for i in range(20))
    return {"kind": "documents", "name": name, "documents": [{"id": "a", "text": words}]}


def test_budgets_and_curricula_yaml_validates() -> None:
    budget_block, curriculum_block = blocks(DOCS / "budgets-and-curricula.md", "yaml")
    names = ["switchboard", "childes", "gutenberg", "wiki"]
    data = {"name": "docs", "sources": [documents_source(n) for n in names]}
    recipe = Recipe.from_dict({**data, **yaml.safe_load(budget_block)})
    assert recipe.budget.total == 10_000_000
    recipe.with_budget(20).check(None)  # the inline sources hold 20 words each
    sequential = Recipe.from_dict(
        {"name": "docs", "sources": [documents_source(n) for n in ("switchboard", "boolq")]}
        | yaml.safe_load(curriculum_block)
    )
    sequential.check(None)
    assert [stage.name for stage in sequential.curriculum.stages] == ["conversation", "qa"]


def test_generators_yaml_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "anything")
    data = {"name": "docs", "sources": [documents_source("sentences")]}
    recipe = Recipe.from_dict(data | yaml.safe_load(block("generators.md", "yaml")))
    recipe.check(None)
    (generator,) = recipe.generators
    assert (generator.model, generator.k, generator.max_cost_usd) == ("gpt-4o-mini", 3, 20.0)


def test_dedup_yaml_validates(data_root: Path) -> None:
    data = {"name": "docs", "sources": [documents_source("gutenberg")]}
    recipe = Recipe.from_dict(data | yaml.safe_load(block("dedup.md", "yaml")))
    recipe.check(data_root)
    assert [step.kind for step in recipe.dedup] == ["exact", "minhash", "decontaminate"]


def test_dedup_mrpc_decontamination_drops_the_test_pairs(data_root: Path, tmp_path: Path) -> None:
    """dedup.md's MRPC step added to paraphrase-pairs: the figures the page gives, no test pair."""
    data = Recipe.from_yaml(REPO / "recipes" / "paraphrase-pairs.yaml").to_dict()
    data["dedup"] = yaml.safe_load(block("dedup.md", "yaml", 1))["dedup"]
    recipe = Recipe.from_dict(data).with_budget(20_000)
    result = build(recipe, out=tmp_path, data_root=data_root)
    (row,) = [r for r in result.manifest["ledger"] if r["step"] == "decontaminate"]
    assert (row["docs_in"], row["dropped"]) == (
        12_647,
        {"contaminated_mrpc_eval": {"docs": 1_365, "words": 52_922}},
    )
    kept = [doc.id for doc in result.open().documents()]
    assert len(kept) > 0 and not [i for i in kept if "msr_paraphrase_test" in i]


def test_evaluation_task_yaml_loads(data_root: Path, tmp_path: Path) -> None:
    from trainers.evaluate.tasks import load_pairs, resolve_task

    shutil.copy(REPO / "tests" / "data" / "evaluate" / "agreement.jsonl", tmp_path)
    (tmp_path / "toy.yaml").write_text(block("evaluation.md", "yaml"))
    spec = resolve_task(str(tmp_path / "toy.yaml"))
    assert (spec.name, spec.group_by) == ("toy_agreement", ["phenomenon"])
    assert len(load_pairs(spec, data_root)) > 0


def command_lines() -> list[tuple[str, str]]:
    """(page, line) for every `corpuskit ...` line of a shell or plain block in README and docs."""
    lines = []
    for page in PAGES:
        for lang in ("bash", ""):
            for body in blocks(page, lang):
                for part in (p for line in body.splitlines() for p in line.split("&&")):
                    if "corpuskit " not in part:
                        continue
                    argv = shlex.split(part, comments=True)
                    while argv and "=" in argv[0] and argv[0] != "corpuskit":
                        argv.pop(0)  # RAY_ADDRESS=auto corpuskit ...
                    if argv[:1] == ["corpuskit"]:
                        lines.append((page.name, shlex.join(argv)))
    return lines


def test_documented_commands_use_real_verbs_and_options() -> None:
    """Each `corpuskit VERB --option` shown in the docs exists in that verb's --help."""
    group: Any = typer.main.get_command(app)  # typer's own click-like group
    checked = set()
    for page, line in command_lines():
        verb, *args = shlex.split(line)[1:]
        assert verb in group.commands, f"{page}: unknown verb in {line!r}"
        command = group.commands[verb]
        known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        for arg in args:
            option = arg.split("=", 1)[0]
            if option.startswith("-") and option != "-":
                assert option in known, f"{page}: {line!r}: {verb} has no option {option}"
        checked.add(verb)
    assert checked >= {"validate", "build", "inspect", "verify", "diff", "train", "score"}


def test_the_docs_site_builds_without_warnings(tmp_path: Path) -> None:
    """`mkdocs build --strict`: every page in the nav, every link and anchor between pages."""
    pytest.importorskip("mkdocs")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "tutorial" / "index.html").is_file()


def test_files_and_tests_the_docs_name_exist() -> None:
    """`tests/x.py::test_y`, `benchmarks/z.py`, `recipes/r.yaml` ... named in README and docs."""
    pattern = r"`((?:tests|benchmarks|trainers|corpuskit|recipes|docs)/[\w./-]+\.(?:py|yaml|md))"
    named = set()
    for page in PAGES:
        for path, test in re.findall(pattern + r"(?:::(\w+))?`", page.read_text()):
            assert (REPO / path).is_file(), f"{page.name} names missing {path}"
            if test:
                assert f"def {test}(" in (REPO / path).read_text(), f"{page.name}: {path}::{test}"
            named.add(path)
    assert {"tests/recipes/test_docs.py", "benchmarks/seed_study.py"} <= named
    readme_links = re.findall(r"\]\(([\w./-]+)\)", (REPO / "README.md").read_text())
    assert readme_links and all((REPO / link).is_file() for link in readme_links), readme_links
