"""The only writer of audit entries."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from audit.chain import GENESIS_HASH, body_prefix, canonical_json, entry_hash
from audit.models import AuditEntry, AuditHead

SYSTEM_ACTOR = "system"

# One statement links the entry under the head row's lock, so the lock is held only from
# here to COMMIT: the hash is finished in SQL from the prefix computed in Python.
_POSTGRES_APPEND = """
WITH head AS (
    UPDATE audit_audithead
       SET prev_hash = hash,
           seq = seq + 1,
           hash = encode(
               sha256(convert_to(hash, 'UTF8') || %(prefix)s || convert_to((seq + 1)::text || '}', 'UTF8')), 'hex'
           )
     WHERE id = 1
 RETURNING seq, hash, prev_hash
)
INSERT INTO audit_auditentry (seq, at, actor, event, action_id, data, prev_hash, hash)
SELECT seq, %(at)s, %(actor)s, %(event)s, %(action_id)s, %(data)s, prev_hash, hash FROM head
RETURNING seq, prev_hash, hash
"""


def audit_append(*, actor: str, event: str, action_id: UUID | str | None = None, data: Any = None) -> AuditEntry:
    """Append one entry to the chain; joins the caller's transaction.

    Appends are serialized by the head row (Postgres row lock; SQLite's IMMEDIATE
    transactions serialize all writers), so seq stays gapless and each entry links to the last.
    Call it as late as possible in a transaction: the head stays locked until commit.
    """
    # Round-trip through canonical JSON so what we hash is exactly what the database returns.
    data = json.loads(canonical_json({} if data is None else data))
    at = timezone.now()
    action_id = str(action_id) if action_id else None
    if connection.vendor == "postgresql":
        return _append_postgres(actor=actor, event=event, action_id=action_id, data=data, at=at)
    with transaction.atomic(savepoint=False):
        head, _ = AuditHead.objects.select_for_update().get_or_create(id=1, defaults={"hash": GENESIS_HASH})
        seq = head.seq + 1
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
        AuditHead.objects.filter(id=1).update(seq=seq, hash=digest, prev_hash=head.hash)
    return entry


def _append_postgres(*, actor: str, event: str, action_id: str | None, data: Any, at: Any) -> AuditEntry:
    prefix = body_prefix(at=at, actor=actor, event=event, action_id=action_id, data=data)
    params = {
        "prefix": prefix.encode(),
        "at": at,
        "actor": actor,
        "event": event,
        "action_id": action_id,
        "data": canonical_json(data),
    }
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(_POSTGRES_APPEND, params)
        row = cursor.fetchone()
        if row is None:  # an emptied table (e.g. flushed between tests) lost its head row
            cursor.execute(
                "INSERT INTO audit_audithead (id, seq, hash, prev_hash) VALUES (1, 0, %s, '') ON CONFLICT DO NOTHING",
                [GENESIS_HASH],
            )
            cursor.execute(_POSTGRES_APPEND, params)
            row = cursor.fetchone()
        seq, prev_hash, digest = row
    return AuditEntry(
        seq=seq, at=at, actor=actor, event=event, action_id=action_id, data=data, prev_hash=prev_hash, hash=digest
    )
