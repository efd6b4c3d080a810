"""Score-over-time charts drawn as inline SVG on the server (no script, no inline style)."""
from __future__ import annotations

from dataclasses import dataclass

from screening.service.definitions import Instrument

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 12, 34


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    score: int
    band: str
    when: object
    crisis: bool
    language: str = "en"
    previous_language: str | None = None  # set when this score was answered in another language than the one before

    @property
    def language_changed(self) -> bool:
        return self.previous_language is not None


@dataclass(frozen=True)
class BandArea:
    y: float
    height: float
    concern: int
    code: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: float
    top: int
    bottom: float
    points: list[Point]
    bands: list[BandArea]
    ticks: list[tuple[float, int]]

    @property
    def language_changes(self) -> list[Point]:
        """The scores answered in another language than the score before (answers may not compare exactly)."""
        return [point for point in self.points if point.language_changed]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def score_chart(instrument: Instrument, results) -> Chart | None:
    """A line of the scores over time with the bands behind it; None when there is no score."""
    low, high = instrument.min_score, instrument.max_score
    if instrument.method != "sum" or low is None or high is None:
        return None
    results = [result for result in results if result.score is not None]
    if not results:
        return None
    span = max(high - low, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bottom = TOP + plot_h

    def y_of(value: float) -> float:
        return bottom - (value - low) / span * plot_h

    count = len(results)
    points: list[Point] = []
    for index, result in enumerate(results):
        x = LEFT + (plot_w / 2 if count == 1 else index * plot_w / (count - 1))
        language = getattr(result, "language", None) or "en"
        before = points[-1].language if points else None
        points.append(Point(x, y_of(result.score), result.score, result.band, result.created_at, result.crisis,
                            language, before if before is not None and before != language else None))
    areas, ticks = [], {low, high}
    for band in instrument.bands:
        if band.when is not None or band.min is None or band.max is None:
            continue  # sex-specific variants: the general bands are drawn (a "sum" band has both ends)
        top_value = band.max + 1 if band.max < high else high
        bottom_value = band.min
        areas.append(BandArea(y_of(top_value), y_of(bottom_value) - y_of(top_value), band.concern, band.code))
        ticks.add(band.min)
    return Chart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, TOP, bottom, points, areas,
                 sorted((y_of(value), value) for value in ticks))
