"""The data card's attrition waterfall as a PNG, drawn with Pillow.

A bar per row of :func:`corpuskit.datacard.waterfall_rows`: the words read and the words written
are full bars, each step in between floats at the level it starts from (red removes, green adds).
Drawn with Pillow rather than matplotlib because the chart is written at the end of every build:
importing matplotlib and drawing with it left ~48 MiB more resident memory after a build than
Pillow does (issue #3's memory target); Pillow costs ~7 MiB.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

FULL, REMOVED, ADDED = "#4c72b0", "#c44e52", "#55a868"
COLUMN, HEIGHT, LEFT, TOP, BOTTOM = 120, 440, 84, 46, 70


def render_waterfall_png(rows: list[dict[str, Any]], title: str, path: Path) -> None:
    """Write the chart of ``rows`` (``waterfall_rows`` output) to ``path``."""
    from PIL import Image, ImageDraw, ImageFont  # here: only a build's last step needs it

    width = LEFT + COLUMN * max(len(rows), 5) + 20
    image = Image.new("RGB", (width, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font, small = ImageFont.load_default(size=13), ImageFont.load_default(size=11)
    top = max([max(r["words_in"], r["words_out"]) for r in rows] + [1])
    step = _nice_step(top)
    scale_top = step * math.ceil(top / step)
    plot_h = HEIGHT - TOP - BOTTOM

    def y(words: float) -> float:
        return TOP + plot_h * (1 - words / scale_top)

    for k in range(round(scale_top / step) + 1):  # grid and y-axis labels
        level = y(k * step)
        draw.line([(LEFT, level), (width - 20, level)], fill="#e6e6e6")
        label = f"{k * step:,}"
        draw.text((LEFT - 6, level), label, fill="black", font=small, anchor="rm")
    for i, row in enumerate(rows):
        x0 = LEFT + i * COLUMN + COLUMN * 0.2
        x1 = x0 + COLUMN * 0.6
        endpoint = row["step"] in ("read", "output")
        if endpoint:
            low, high, color = 0, row["words_out"], FULL
        else:
            low, high = sorted((row["words_in"], row["words_out"]))
            color = ADDED if row["change"] > 0 else REMOVED
        draw.rectangle([x0, y(high), x1, max(y(low), y(high) - 1)], fill=color)
        note = f"{row['words_out']:,}" if endpoint else f"{row['change']:+,}"
        draw.text(((x0 + x1) / 2, y(high) - 3), note, fill="black", font=small, anchor="md")
        centre = LEFT + i * COLUMN + COLUMN / 2
        draw.text((centre, HEIGHT - BOTTOM + 8), _fit(row["step"], 17), fill="black", font=small,
                  anchor="ma")  # fmt: skip
        if row["family"] not in ("sources", "shards"):
            family = f"({row['family']})"
            draw.text((centre, HEIGHT - BOTTOM + 24), family, fill="#555555", font=small,
                      anchor="ma")  # fmt: skip
    draw.line([(LEFT, TOP), (LEFT, y(0)), (width - 20, y(0))], fill="black")
    draw.text((LEFT, 14), title, fill="black", font=font)
    draw.text((12, TOP - 18), "words", fill="black", font=small)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")


def _nice_step(top: float) -> int:
    """A 1/2/5 × 10^k tick step giving 4 to 10 ticks up to ``top``."""
    raw = max(top / 5, 1)
    power = 10 ** math.floor(math.log10(raw))
    return int(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
