"""Bar charts drawn as inline SVG on the server (no script, no inline style: CSS classes only).

A bar whose value falls under the small-count rule is not drawn: its row says "<5" or "hidden", so
that the chart never shows more than the table beside it."""
from __future__ import annotations

from dataclasses import dataclass

WIDTH = 640
LABEL_W = 210
VALUE_W = 70
ROW_H = 26
BAR_H = 16
TOP = 6


@dataclass(frozen=True)
class Bar:
    label: str
    shown: str          # the value as text ("12", "<5", "hidden", "48 %")
    y: float
    width: float        # 0: nothing drawn
    text_y: float

    @property
    def drawn(self) -> bool:
        return self.width > 0


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    width: int
    height: int
    bar_x: int
    value_x: float

    @property
    def empty(self) -> bool:
        return not any(b.drawn for b in self.bars)


def bar_chart(title: str, items: list[tuple[str, float | None, str]], maximum: float | None = None) -> BarChart:
    """Horizontal bars: `items` are (label, value or None when not to be drawn, text shown)."""
    values = [v for _label, v, _text in items if v is not None and v > 0]
    top = maximum if maximum is not None else (max(values) if values else 1)
    top = top or 1
    plot = WIDTH - LABEL_W - VALUE_W
    bars = []
    for index, (label, value, text) in enumerate(items):
        y = TOP + index * ROW_H
        width = 0.0 if value is None or value <= 0 else max(1.0, plot * min(value, top) / top)
        bars.append(Bar(str(label), text, y, round(width, 1), y + BAR_H - 3))
    height = TOP * 2 + ROW_H * max(1, len(items))
    return BarChart(title, bars, WIDTH, height, LABEL_W, LABEL_W + plot + 6)
