"""A chosen json value of benchmark results compared across flavors, as an SVG bar chart.

The numbers are aggregated by the database (one query, whatever the number of results); this
module only places the bars: one per flavor, its mean as the bar and its range as a whisker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Avg, Count, Max, Min, QuerySet

from visionhub.benchmarks.filters import parse_path
from visionhub.benchmarks.jsonsql import json_number
from visionhub.benchmarks.models import BenchmarkResult

MAX_FLAVORS = 40
LABEL_WIDTH = 260
PLOT_WIDTH = 440
ROW_HEIGHT = 26
BAR_HEIGHT = 16
TOP = 24


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    mean: float
    low: float
    high: float
    y: int
    width: float
    low_x: float
    high_x: float

    @property
    def bar_y(self) -> int:
        return self.y + (ROW_HEIGHT - BAR_HEIGHT) // 2

    @property
    def middle_y(self) -> int:
        return self.y + ROW_HEIGHT // 2

    @property
    def text_y(self) -> int:
        return self.middle_y + 4


@dataclass
class Chart:
    path: str
    bars: list[Bar] = field(default_factory=list)
    maximum: float = 0.0
    truncated: bool = False
    label_width: int = LABEL_WIDTH
    plot_width: int = PLOT_WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def width(self) -> int:
        return LABEL_WIDTH + PLOT_WIDTH + 90

    @property
    def height(self) -> int:
        return TOP + ROW_HEIGHT * max(1, len(self.bars)) + 8

    @property
    def plot_right(self) -> int:
        return LABEL_WIDTH + PLOT_WIDTH


def _float(value: Decimal | float | None) -> float:
    return float(value) if value is not None else 0.0


def flavor_chart(results: QuerySet[BenchmarkResult], path_text: str) -> Chart:
    """Mean, minimum and maximum of the number at ``path_text`` per flavor of ``results``
    (results whose value there is not a number are left out); 422 ``invalid_filter`` for a
    path that cannot be read."""
    path = parse_path(path_text.strip())
    rows = list(
        results.annotate(_value=json_number("json", path))
        .filter(_value__isnull=False)
        .values("site__name", "flavor__name")
        .annotate(n=Count("_value"), mean=Avg("_value"), low=Min("_value"), high=Max("_value"))
        .order_by("-mean", "site__name", "flavor__name")[: MAX_FLAVORS + 1]
    )
    chart = Chart(path=".".join(path), truncated=len(rows) > MAX_FLAVORS)
    rows = rows[:MAX_FLAVORS]
    chart.maximum = max((_float(row["high"]) for row in rows), default=0.0)
    scale = PLOT_WIDTH / chart.maximum if chart.maximum > 0 else 0.0
    for index, row in enumerate(rows):
        mean, low, high = _float(row["mean"]), _float(row["low"]), _float(row["high"])
        chart.bars.append(
            Bar(
                label=f"{row['site__name']} / {row['flavor__name']}",
                count=row["n"],
                mean=mean,
                low=low,
                high=high,
                y=TOP + index * ROW_HEIGHT,
                width=max(0.0, mean * scale),
                low_x=LABEL_WIDTH + max(0.0, low * scale),
                high_x=LABEL_WIDTH + max(0.0, high * scale),
            )
        )
    return chart
