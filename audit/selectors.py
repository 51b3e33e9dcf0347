"""Reads of the audit history."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from audit.models import AuditEntry


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
    queryset = AuditEntry.objects.all()
    if action_id is not None:
        queryset = queryset.filter(action_id=action_id)
    if actor:
        queryset = queryset.filter(actor=actor)
    if event:
        queryset = queryset.filter(event=event)
    if since is not None:
        queryset = queryset.filter(at__gte=since)
    if until is not None:
        queryset = queryset.filter(at__lt=until)
    if before_seq is not None:
        queryset = queryset.filter(seq__lt=before_seq)
    return list(queryset.order_by("-seq")[:limit])
