"""A rule's hits: counted and put on the action's timeline when the rule decides an action.

Apart from the rules' own writes (rules.services) because the lifecycle records a hit inside the
submit's transaction, while "approve and allow similar" there calls the lifecycle.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest

from audit.services import audit_append
from rules.models import Rule


def rule_hit_record(
    *, rule_id: int, updated_at: datetime | None, effect: str, action_id: UUID, now: datetime
) -> str | None:
    """Count a hit and put it on the action's timeline; returns the rule's note, or None if the
    rule changed since this process compiled it (edited, disabled or expired elsewhere), so the
    caller must not use it.

    Runs in the caller's transaction. The count is an atomic increment: concurrent hits all count.
    """
    claimed = Rule.objects.filter(
        id=rule_id, updated_at=updated_at, disabled_at__isnull=True, expired_at__isnull=True, expires_at__gt=now
    ).update(
        hit_count=F("hit_count") + 1,
        last_hit_at=Greatest(Coalesce("last_hit_at", Value(now)), Value(now)),
    )
    if not claimed:
        return None
    note = Rule.objects.filter(id=rule_id).values_list("note", flat=True).first() or ""
    audit_append(
        actor=f"rule:{rule_id}",
        event="rule.matched",
        action_id=action_id,
        data={"rule_id": rule_id, "effect": effect, "reason": note or f"{effect} rule #{rule_id}"},
    )
    return note
