"""Bar charts drawn as inline SVG on the server (no script, no inline style: CSS classes only).

A bar whose value falls under the small-count rule is not drawn: its row says "<5" or "hidden", so
that the chart never shows more than the table beside it."""
from __future__ import annotations

from dataclasses import dataclass

# Each row is the label on a line of its own, then the bar with its value: a label gets the whole
# width (a tier's name does not fit beside a bar once the chart is scaled to a phone).
WIDTH = 400
VALUE_W = 64        # room after the longest bar for its value ("hidden", "100 %")
BAR_X = 2
LABEL_X = BAR_X + 6
LABEL_H = 17        # label line above its bar
BAR_H = 14
ROW_H = LABEL_H + BAR_H + 9
TOP = 4
LABEL_MAX = 48      # characters; longer labels end with "…" (the table beside the chart has them whole)


@dataclass(frozen=True)
class Bar:
    label: str
    shown: str          # the value as text ("12", "<5", "hidden", "48 %")
    y: float            # top of the bar
    width: float        # 0: nothing drawn
    label_y: float      # baseline of the label
    text_y: float       # baseline of the value

    @property
    def drawn(self) -> bool:
        return self.width > 0


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    width: int
    height: int
    bar_x: int = BAR_X
    label_x: int = LABEL_X
    bar_h: int = BAR_H
    label_max: int = LABEL_MAX

    @property
    def empty(self) -> bool:
        return not any(b.drawn for b in self.bars)


def bar_chart(title: str, items: list[tuple[str, float | None, str]], maximum: float | None = None) -> BarChart:
    """Horizontal bars: `items` are (label, value or None when not to be drawn, text shown)."""
    values = [v for _label, v, _text in items if v is not None and v > 0]
    top = maximum if maximum is not None else (max(values) if values else 1)
    top = top or 1
    plot = WIDTH - BAR_X - VALUE_W
    bars = []
    for index, (label, value, text) in enumerate(items):
        row = TOP + index * ROW_H
        y = row + LABEL_H
        width = 0.0 if value is None or value <= 0 else max(1.0, plot * min(value, top) / top)
        bars.append(Bar(str(label), text, y, round(width, 1), row + LABEL_H - 5, y + BAR_H - 3))
    height = TOP * 2 + ROW_H * max(1, len(items))
    return BarChart(title, bars, WIDTH, height)
