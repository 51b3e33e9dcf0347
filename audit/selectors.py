"""Reads of the audit history: filtered pages, one action's timeline, export chunks and the daily chart."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from django.db import connection
from django.db.models import Count, Exists, OuterRef, QuerySet, TextField
from django.db.models.functions import Cast, Substr, TruncDate

from approvals.models import Action
from audit.models import AuditEntry, AuditVerification

EXPORT_CHUNK = 2_000


@dataclass(frozen=True)
class AuditFilters:
    """What the history is narrowed to; every field optional. `until` is exclusive."""

    actor: str | None = None
    event: str | None = None
    action_id: UUID | None = None
    security_level: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, *, entry: AuditEntry, security_level: str | None) -> bool:
        """Whether one entry (say, a new one arriving live) belongs to this filtered set."""
        return (
            (self.actor is None or entry.actor == self.actor)
            and (self.event is None or entry.event == self.event)
            and (self.action_id is None or str(entry.action_id) == str(self.action_id))
            and (self.security_level is None or security_level == self.security_level)
            and (self.since is None or entry.at >= self.since)
            and (self.until is None or entry.at < self.until)
        )


def _filtered(filters: AuditFilters) -> QuerySet[AuditEntry]:
    queryset = AuditEntry.objects.all()
    if filters.action_id is not None:
        queryset = queryset.filter(action_id=filters.action_id)
    if filters.actor:
        queryset = queryset.filter(actor=filters.actor)
    if filters.event:
        queryset = queryset.filter(event=filters.event)
    if filters.security_level:
        # A correlated EXISTS, probed per entry while walking seq downwards: an IN (subquery)
        # made SQLite collect every entry of every such action and sort them all.
        same_level = Action.objects.filter(id=OuterRef("action_id"), security_level=filters.security_level)
        queryset = queryset.filter(Exists(same_level))
    if filters.since is not None:
        queryset = queryset.filter(at__gte=filters.since)
    if filters.until is not None:
        queryset = queryset.filter(at__lt=filters.until)
    return queryset


def audit_entries(
    *,
    action_id: UUID | None = None,
    actor: str | None = None,
    event: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_seq: int | None = None,
    limit: int,
) -> list[AuditEntry]:
    """Entries newest first, keyset-paged by seq."""
    filters = AuditFilters(actor=actor, event=event, action_id=action_id, since=since, until=until)
    return audit_page(filters=filters, before_seq=before_seq, limit=limit)


def audit_page(*, filters: AuditFilters, before_seq: int | None = None, limit: int) -> list[AuditEntry]:
    """One page of the filtered history, newest first, keyset-paged on seq (never OFFSET).

    Two steps: the page's seqs first, which the (column, seq) indexes answer without touching
    the table (a date range sorts integers, not whole rows), then those rows by primary key.
    """
    queryset = _filtered(filters)
    if before_seq is not None:
        queryset = queryset.filter(seq__lt=before_seq)
    seqs = list(queryset.order_by("-seq").values_list("seq", flat=True)[:limit])
    return list(AuditEntry.objects.filter(seq__in=seqs).order_by("-seq"))


def audit_entry_get(*, seq: int) -> AuditEntry | None:
    return AuditEntry.objects.filter(seq=seq).first()


def action_levels(action_ids: list[UUID | str]) -> dict[str, str]:
    """Security level of each action, by action id text (for showing and filtering entries)."""
    rows = Action.objects.filter(id__in=[a for a in action_ids if a]).values_list("id", "security_level")
    return {str(action_id): level for action_id, level in rows}


def audit_action_timeline(*, action_id: UUID) -> list[AuditEntry]:
    """Every entry of one action, oldest first."""
    return list(AuditEntry.objects.filter(action_id=action_id).order_by("seq"))


def audit_export_rows(*, filters: AuditFilters, chunk: int = EXPORT_CHUNK) -> Iterator[tuple]:
    """The whole filtered set, newest first, as (seq, at, actor, event, action_id, data JSON text, prev, hash).

    Read in keyset chunks on seq, each query streamed with `.iterator()`, so memory stays
    bounded whatever the size and no read holds a transaction open for the whole export.
    `data` comes back as the stored canonical JSON text: nothing to parse or re-encode.
    """
    queryset = _filtered(filters).annotate(data_text=Cast("data", TextField()))
    before: int | None = None
    while True:
        page = queryset if before is None else queryset.filter(seq__lt=before)
        rows = page.order_by("-seq").values_list(
            "seq", "at", "actor", "event", "action_id", "data_text", "prev_hash", "hash"
        )[:chunk]
        count = 0
        for row in rows.iterator(chunk_size=chunk):
            count += 1
            before = row[0]
            yield row
        if count < chunk:
            return


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


def audit_verification() -> AuditVerification | None:
    return AuditVerification.objects.filter(id=1).first()
