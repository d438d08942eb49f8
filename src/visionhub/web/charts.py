"""Charts drawn on the server as SVG: no JavaScript, no library, readable without a script.

``bar_chart`` lays out horizontal bars, one row per label, one bar per series in each row; the
template ``web/includes/bar_chart.html`` draws the layout. Pages pass their numbers, not SVG.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PALETTE = ["#2457d6", "#e76f51", "#2a9d8f", "#e9c46a", "#8e44ad", "#6c757d"]
LABEL_WIDTH = 160
BAR_HEIGHT = 14
GAP = 6
WIDTH = 720


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    value: float
    series: str

    @property
    def text_x(self) -> float:
        return self.x + self.width + 4

    @property
    def text_y(self) -> float:
        return self.y + self.height / 2


@dataclass(frozen=True)
class Row:
    label: str
    y: float
    bars: list[Bar]


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    label_width: int
    rows: list[Row]

    @property
    def label_x(self) -> int:
        return self.label_width - 8

    legend: list[tuple[str, str]]
    maximum: float


def bar_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]) -> BarChart:
    """Bars of ``series`` (name, one value per label) for each of ``labels``."""
    maximum = max((v for _, values in series for v in values), default=0.0) or 1.0
    span = WIDTH - LABEL_WIDTH - 70
    per_row = len(series) * BAR_HEIGHT + GAP * 2
    rows = []
    for i, label in enumerate(labels):
        top = i * per_row + GAP
        bars = [
            Bar(
                x=LABEL_WIDTH,
                y=top + j * BAR_HEIGHT,
                width=max(1.0, span * values[i] / maximum) if values[i] else 0.0,
                height=BAR_HEIGHT - 2,
                color=PALETTE[j % len(PALETTE)],
                value=values[i],
                series=name,
            )
            for j, (name, values) in enumerate(series)
        ]
        rows.append(Row(label=label, y=top + len(series) * BAR_HEIGHT / 2, bars=bars))
    legend = [(name, PALETTE[j % len(PALETTE)]) for j, (name, _) in enumerate(series)]
    return BarChart(
        width=WIDTH,
        height=max(per_row * len(labels), 20),
        label_width=LABEL_WIDTH,
        rows=rows,
        legend=legend,
        maximum=maximum,
    )
