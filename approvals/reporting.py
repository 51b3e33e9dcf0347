"""The lifecycle's reporting: actions per day by outcome, and what the audit pages show of actions.

The chart is counted here and drawn as stacked SVG bars by its template; `AuditSubjects` is how the
audit history and timeline read actions (their risk levels, the action, the chart) without audit
importing the lifecycle. ApprovalsConfig.ready registers it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import Count, Exists, OuterRef
from django.db.models.functions import Substr, TruncDate
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from approvals.models import Action, SecurityLevel, Status
from approvals.presentation import action_kind_label, action_summary

# Finished outcomes first (bottom of each bar), then what is still under way.
OUTCOMES = [
    Status.COMPLETED,
    Status.FAILED,
    Status.REJECTED,
    Status.EXPIRED,
    Status.CANCELLED,
    Status.PENDING,
    Status.APPROVED,
    Status.EXECUTING,
]
DEFAULT_DAYS = 14
MAX_DAYS = 92

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 48
# Every day has its label: below UPRIGHT_BAND units a bar's label is turned upright, and below
# MIN_BAND the chart grows wider (its box scrolls sideways) rather than squeezing the labels together.
UPRIGHT_BAND, MIN_BAND = 40, 14
# The narrowest the chart is drawn, as a share of its width in px: 11-unit labels stay about 9 px.
MIN_SCALE = 0.8


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
    upright: bool = False
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
    def min_width(self) -> int:
        return round(self.width * MIN_SCALE)

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
            if bar.upright:
                middle = round(bar.x + bar.width / 2, 2)
                label = format_html(
                    '<text class="tick day" x="{}" y="{}" text-anchor="end" dominant-baseline="middle"'
                    ' transform="rotate(-90 {} {})">{}</text>',
                    middle,
                    self.plot_bottom + 6,
                    middle,
                    self.plot_bottom + 6,
                    bar.label,
                )
            else:
                label = format_html(
                    '<text class="tick day" x="{}" y="{}">{}</text>', bar.x, self.plot_bottom + 16, bar.label
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


@dataclass(frozen=True)
class DayCounts:
    day: date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def actions_per_day(*, start: date, end: date, security_level: str | None = None) -> list[DayCounts]:
    """Actions created on each UTC day from `start` to `end` (inclusive), by their current status."""
    queryset = Action.objects.filter(
        created_at__gte=datetime.combine(start, time.min, tzinfo=UTC),
        created_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC),
    )
    if security_level:
        queryset = queryset.filter(security_level=security_level)
    # SQLite stores UTC as "YYYY-MM-DD HH:MM:SS…": its first ten characters are the day, read
    # from the index, where TruncDate would call back into Python for every row.
    sqlite = connection.vendor == "sqlite"
    day_expression = Substr("created_at", 1, 10) if sqlite else TruncDate("created_at")
    rows = queryset.annotate(day=day_expression).values_list("day", "status").annotate(n=Count("*"))
    days: dict[date, dict[str, int]] = {start + timedelta(days=offset): {} for offset in range((end - start).days + 1)}
    for day, status, count in rows:
        day = date.fromisoformat(day) if isinstance(day, str) else day
        days.setdefault(day, {})[status] = count
    return [DayCounts(day=day, counts=counts) for day, counts in sorted(days.items())]


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
    width = max(WIDTH, LEFT + RIGHT + MIN_BAND * len(days))
    band = (width - LEFT - RIGHT) / max(1, len(days))
    bars = []
    totals = dict.fromkeys((str(s) for s in OUTCOMES), 0)
    for index, day in enumerate(days):
        bar = Bar(
            day=day.day,
            total=day.total,
            x=round(LEFT + index * band + band * 0.15, 2),
            width=round(band * 0.7, 2),
            label=day.day.strftime("%b %-d"),
            upright=band < UPRIGHT_BAND,
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
    return Chart(start=start, end=end, clipped=clipped, bars=bars, ticks=ticks, totals=totals, width=width)


class AuditSubjects:
    """The actions audit entries name, for the audit pages (see audit.subjects)."""

    def level_choices(self) -> list[tuple[str, str]]:
        return SecurityLevel.choices

    def with_level(self, level: str) -> Exists:
        # A correlated EXISTS, probed per entry while walking seq downwards: an IN (subquery)
        # made SQLite collect every entry of every such action and sort them all.
        return Exists(Action.objects.filter(id=OuterRef("action_id"), security_level=level))

    def levels(self, action_ids: list[UUID | str]) -> dict[str, str]:
        rows = Action.objects.filter(id__in=[a for a in action_ids if a]).values_list("id", "security_level")
        return {str(action_id): level for action_id, level in rows}

    def action_context(self, action_id: UUID) -> dict[str, Any] | None:
        action = Action.objects.select_related("requested_by").filter(id=action_id).first()
        return (
            None
            if action is None
            else {"action": action, "summary": action_summary(action), "kind_label": action_kind_label(action)}
        )

    def history_context(self, *, since: date | None, until: date | None, security_level: str | None) -> dict[str, Any]:
        start, end, clipped = chart_range(since=since, until=until, today=timezone.now().date())
        days = actions_per_day(start=start, end=end, security_level=security_level)
        return {"chart": chart_build(days=days, clipped=clipped)}
