"""Leaderboard (real SQLite) and the HTML report: tables equal the DB, every plot decodes.

The ``browser`` test opens the page in headless Chromium, reads back the DOM after the page's
own load handler marked each image as decoded, and saves a screenshot.
"""

from __future__ import annotations

import base64
import io
import shutil
import statistics
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from trainers.evaluate.report import render_report, rows_table, summary_table
from trainers.evaluate.runner import GroupScore, TaskResult
from trainers.leaderboard import Leaderboard, RowKey, Summary, macro_average

PHENOMENA = {"anaphor_agreement": 0.9, "island_effects": 0.55, "npi_licensing": 0.4}


def _results(shift: float) -> list[TaskResult]:
    groups = {"linguistics_term": {k: GroupScore(v + shift, 10, 0) for k, v in PHENOMENA.items()}}
    return [
        TaskResult("blimp", 1, "accuracy", 0.6 + shift, 30, 2, groups),
        TaskResult("ewok", 1, "accuracy", 0.5 - shift, 20, 0),
        TaskResult("rte", 1, "accuracy", 0.55, 10),
        TaskResult("mrpc", 1, "f1", 0.7, 10),
    ]


@pytest.fixture
def board(tmp_path: Path) -> Leaderboard:
    lb = Leaderboard(tmp_path / "lb.sqlite")
    for recipe, base in (("alpha", 0.0), ("beta", 0.1)):
        for seed, jitter in ((0, 0.0), (1, 0.02), (2, 0.04)):
            key = RowKey(f"{recipe}hash00000"[:12], "cfg000000000", "1.0", seed)
            lb.record(
                key,
                _results(base + jitter),
                recipe_name=recipe,
                config_name="tiny",
                run_dir="runs/x",
                objective="causal",
            )
    return lb


def test_rows_keys_and_upserts(board: Leaderboard) -> None:
    rows = board.rows()
    assert [(r.recipe_name, r.key.seed) for r in rows] == [
        (n, s) for n in ("alpha", "beta") for s in (0, 1, 2)
    ]
    key = rows[0].key
    board.record(
        key,
        [TaskResult("blimp", 1, "accuracy", 0.99, 30)],
        recipe_name="alpha",
        config_name="tiny",
        run_dir="r",
        objective="causal",
    )
    again = board.rows()[0]
    assert again.scores["blimp"] == 0.99 and again.scores["ewok"] == 0.5  # other tasks kept
    assert len(board.rows()) == 6


def test_macro_averages_glue_tasks_first() -> None:
    assert macro_average({"blimp": 0.6, "ewok": 0.5, "rte": 0.55, "mrpc": 0.7}) == pytest.approx(
        (0.6 + 0.5 + 0.625) / 3
    )


def test_summaries_are_mean_and_sample_std(board: Leaderboard) -> None:
    alpha = next(s for s in board.summaries() if s.recipe_name == "alpha")
    mean, std, n = alpha.tasks["blimp"]
    assert (mean, std, n) == (
        pytest.approx(0.62),
        pytest.approx(statistics.stdev([0.6, 0.62, 0.64])),
        3,
    )
    assert alpha.seeds == [0, 1, 2]


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[dict[str, str | None]] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.body: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._table = a["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(a)
        elif tag == "body":
            self.body = a

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _parse(text: str) -> _Tables:
    parser = _Tables()
    parser.feed(text)
    return parser


def test_report_tables_match_the_db_and_plots_decode(board: Leaderboard, tmp_path: Path) -> None:
    import matplotlib.image

    page = _parse(render_report(board, tmp_path / "report.html").read_text())
    header, cells = summary_table(board.summaries())
    assert page.tables["summary"] == [header, *cells]
    assert page.tables["rows"] == [
        list(x) for x in (rows_table(board.rows())[0], *rows_table(board.rows())[1])
    ]
    alpha = page.tables["summary"][1]
    assert alpha[header.index("blimp")] == "62.0 ± 2.0" and alpha[header.index("seeds")] == "0,1,2"
    assert "2 ties" in page.tables["rows"][1][page.tables["rows"][0].index("blimp")]
    kinds = [img["data-plot"] for img in page.images]
    assert kinds == ["comparison", "blimp", "blimp"]  # one comparison, one per recipe
    for img in page.images:
        data = base64.b64decode(str(img["src"]).removeprefix("data:image/png;base64,"))
        pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
        assert pixels.shape[0] > 100 and pixels.shape[1] > 100 and pixels.std() > 0.01


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("Chromium not installed (apt-get install -y chromium)")
    return found


@pytest.mark.browser
def test_report_renders_in_headless_chromium(board: Leaderboard, tmp_path: Path) -> None:
    import matplotlib.image

    report = render_report(board, tmp_path / "report.html")
    flags = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000",
    ]
    url = report.resolve().as_uri()
    dom = subprocess.run(
        [*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    page = _parse(dom)
    header, cells = summary_table(board.summaries())
    assert page.tables["summary"] == [header, *cells]
    assert len(page.images) == 3
    assert all(img.get("data-rendered") == "yes" for img in page.images), [
        i.get("data-rendered") for i in page.images
    ]
    assert page.body.get("data-images-ok") == page.body.get("data-images-total") == "3"
    shot = tmp_path / "report.png"
    subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1280,2400", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (2400, 1280) and pixels.std() > 0.05
    artifacts = Path(__file__).parents[2] / "out" / "test-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, artifacts / "leaderboard-report.png")


def test_one_seed_shows_no_spread_and_two_show_the_sample_std() -> None:
    one = Summary("solo", "r" * 12, "t" * 12, "tiny", "1.0", [0], {"blimp": (0.504, 0.0, 1)}, None)
    two = Summary(
        "pair", "r" * 12, "t" * 12, "tiny", "1.0", [0, 1], {"blimp": (0.5, 0.02, 2)}, (0.5, 0.02)
    )
    header, cells = summary_table([one, two])
    blimp, macro = header.index("blimp"), header.index("macro")
    assert [cells[0][blimp], cells[0][macro]] == ["50.4", "–"]
    assert [cells[1][blimp], cells[1][macro]] == ["50.0 ± 2.0", "50.0 ± 2.0"]
