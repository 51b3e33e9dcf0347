"""Geometry of the actions-per-day chart: stacked bars by outcome, drawn as SVG by the template."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from approvals.models import Status
from audit.selectors import DayCounts

# Finished outcomes first (bottom of each bar), then what is still under way.
OUTCOMES = [
    Status.COMPLETED,
    Status.FAILED,
    Status.REJECTED,
    Status.EXPIRED,
    Status.PENDING,
    Status.APPROVED,
    Status.EXECUTING,
]
DEFAULT_DAYS = 14
MAX_DAYS = 92

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 36


@dataclass(frozen=True)
class Segment:
    status: str
    count: int
    y: float
    height: float


@dataclass
class Bar:
    day: date
    total: int
    x: float
    width: float
    label: str
    segments: list[Segment] = field(default_factory=list)
    cells: list[int] = field(default_factory=list)  # counts in OUTCOMES order, for the data table


@dataclass
class Chart:
    start: date
    end: date
    clipped: bool
    bars: list[Bar]
    ticks: list[tuple[int, float]]
    totals: dict[str, int]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    plot_bottom: int = HEIGHT - BOTTOM
    outcomes: list[str] = field(default_factory=lambda: [str(s) for s in OUTCOMES])

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    @property
    def legend(self) -> list[tuple[str, int]]:
        return [(status, self.totals.get(status, 0)) for status in self.outcomes]

    # The bars and the data table are built here rather than in the template: a 92-day chart has
    # hundreds of values, and the template engine's per-variable cost dominated the page.

    def bars_svg(self) -> SafeString:
        parts = []
        for bar in self.bars:
            day = bar.day.strftime("%b %-d")
            rects = format_html_join(
                "",
                '<rect class="seg seg-{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {} {}</title></rect>',
                ((seg.status, bar.x, seg.y, bar.width, seg.height, day, seg.count, seg.status) for seg in bar.segments),
            )
            label = (
                format_html('<text class="tick" x="{}" y="{}">{}</text>', bar.x, self.plot_bottom + 16, bar.label)
                if bar.label
                else ""
            )
            parts.append(format_html('<g class="bar">{}{}</g>\n', rects, label))
        return mark_safe("".join(parts))  # noqa: S308 - every part above is built by format_html

    def table_rows(self) -> SafeString:
        rows = []
        for bar in self.bars:
            cells = format_html_join("", "<td>{}</td>", ((count,) for count in bar.cells))
            rows.append(
                format_html('<tr><th scope="row">{}</th>{}<td>{}</td></tr>\n', bar.day.isoformat(), cells, bar.total)
            )
        return mark_safe("".join(rows))  # noqa: S308 - every row above is built by format_html


def chart_range(*, since: date | None, until: date | None, today: date) -> tuple[date, date, bool]:
    """The days the chart covers: the filtered range (default the last two weeks), at most MAX_DAYS,
    keeping the most recent end. Returns (start, end, clipped)."""
    end = until or (max(today, since) if since else today)
    start = since or end - timedelta(days=DEFAULT_DAYS - 1)
    clipped = (end - start).days + 1 > MAX_DAYS
    if clipped:
        start = end - timedelta(days=MAX_DAYS - 1)
    return start, end, clipped


def _axis_top(value: int) -> int:
    """The y axis's top: four equal integer steps of 1, 2 or 5 times a power of ten, covering `value`."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if 4 * step * magnitude >= value:
                return 4 * step * magnitude
        magnitude *= 10


def chart_build(*, days: list[DayCounts], clipped: bool) -> Chart:
    top = _axis_top(max((day.total for day in days), default=0))
    plot_height = HEIGHT - TOP - BOTTOM
    band = (WIDTH - LEFT - RIGHT) / max(1, len(days))
    every = max(1, math.ceil(len(days) / 12))  # at most ~12 day labels under the bars
    bars = []
    totals = dict.fromkeys((str(s) for s in OUTCOMES), 0)
    for index, day in enumerate(days):
        bar = Bar(
            day=day.day,
            total=day.total,
            x=round(LEFT + index * band + band * 0.15, 2),
            width=round(band * 0.7, 2),
            label=day.day.strftime("%b %-d") if index % every == 0 else "",
        )
        bar.cells = [day.counts.get(status, 0) for status in OUTCOMES]
        base = HEIGHT - BOTTOM
        for status in OUTCOMES:
            count = day.counts.get(status, 0)
            if not count:
                continue
            totals[str(status)] = totals.get(str(status), 0) + count
            height = plot_height * count / top
            base -= height
            bar.segments.append(Segment(status=str(status), count=count, y=round(base, 2), height=round(height, 2)))
        bars.append(bar)
    ticks = [(top * part // 4, round(HEIGHT - BOTTOM - plot_height * part / 4, 2)) for part in range(5)]
    start = days[0].day if days else date.today()
    end = days[-1].day if days else start
    return Chart(start=start, end=end, clipped=clipped, bars=bars, ticks=ticks, totals=totals)
