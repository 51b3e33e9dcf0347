"""The only writer of audit entries."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from audit.chain import GENESIS_HASH, canonical_json, entry_hash
from audit.models import AuditEntry, AuditHead

SYSTEM_ACTOR = "system"


def audit_append(*, actor: str, event: str, action_id: UUID | str | None = None, data: Any = None) -> AuditEntry:
    """Append one entry to the chain; joins the caller's transaction.

    The head row is locked for the rest of the transaction, so concurrent appends
    are serialized and seq stays gapless (SQLite's IMMEDIATE transactions give the same).
    """
    data = {} if data is None else data
    # Round-trip through canonical JSON so what we hash is exactly what the database returns.
    data = json.loads(canonical_json(data))
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(id=1, defaults={"hash": GENESIS_HASH})
        seq = head.seq + 1
        at = timezone.now()
        digest = entry_hash(
            prev_hash=head.hash, seq=seq, at=at, actor=actor, event=event, action_id=action_id, data=data
        )
        entry = AuditEntry.objects.create(
            seq=seq,
            at=at,
            actor=actor,
            event=event,
            action_id=action_id,
            data=data,
            prev_hash=head.hash,
            hash=digest,
        )
        AuditHead.objects.filter(id=1).update(seq=seq, hash=digest)
    return entry
