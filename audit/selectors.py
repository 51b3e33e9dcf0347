"""Reads of the audit history: filtered pages, one action's timeline and export chunks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import F, QuerySet, TextField
from django.db.models.functions import Cast

from audit.models import AuditEntry, AuditHead, AuditVerification
from audit.subjects import subjects
from lib.pagination import Page, keyset_after, page_split

EXPORT_CHUNK = 2_000
# Entries are paged newest first on their seq alone.
SEQ_KEY = ("seq",)


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
        queryset = queryset.filter(subjects().with_level(filters.security_level))
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
) -> Page[AuditEntry]:
    """A page of `limit` entries, newest first, keyset-paged by seq."""
    filters = AuditFilters(actor=actor, event=event, action_id=action_id, since=since, until=until)
    return audit_page(filters=filters, before_seq=before_seq, limit=limit)


def audit_page(*, filters: AuditFilters, before_seq: int | None = None, limit: int) -> Page[AuditEntry]:
    """A page of `limit` entries of the filtered history, newest first, keyset-paged on seq (never OFFSET).

    Two steps: the page's seqs first, which the (column, seq) indexes answer without touching
    the table (a date range sorts integers, not whole rows), then those rows by primary key.
    """
    after = None if before_seq is None else (before_seq,)
    queryset = keyset_after(_filtered(filters), fields=SEQ_KEY, key=after, descending=True)
    order = "-seq"
    if filters.until is not None and not (filters.action_id or filters.actor or filters.event):
        # A range ending in the past: walking the primary key down from the newest entry would
        # pass every later entry first (PostgreSQL picks that plan, expecting matches spread
        # evenly over seq, and read 500,000 rows for a week half a year back). Ordering by an
        # expression leaves it the (at, seq) index and a top-N sort of the range's seqs.
        queryset, order = queryset.annotate(seq_key=F("seq") + 0), "-seq_key"
    seqs = page_split(
        list(queryset.order_by(order).values_list("seq", flat=True)[: limit + 1]), size=limit, key=lambda seq: (seq,)
    )
    return Page(items=list(AuditEntry.objects.filter(seq__in=seqs.items).order_by("-seq")), next_key=seqs.next_key)


def audit_entry_get(*, seq: int) -> AuditEntry | None:
    return AuditEntry.objects.filter(seq=seq).first()


def action_levels(action_ids: list[UUID | str]) -> dict[str, str]:
    """Security level of each action, by action id text (for showing and filtering entries)."""
    return subjects().levels(action_ids)


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
    before: tuple[int] | None = None
    while True:
        page = keyset_after(queryset, fields=SEQ_KEY, key=before, descending=True)
        rows = page.order_by("-seq").values_list(
            "seq", "at", "actor", "event", "action_id", "data_text", "prev_hash", "hash"
        )[:chunk]
        count = 0
        for row in rows.iterator(chunk_size=chunk):
            count += 1
            before = (row[0],)
            yield row
        if count < chunk:
            return


def audit_verification() -> AuditVerification | None:
    return AuditVerification.objects.filter(id=1).first()


def audit_head_seq() -> int:
    """The seq of the newest entry, from the head row (one primary-key read)."""
    return AuditHead.objects.filter(id=1).values_list("seq", flat=True).first() or 0
