"""The only writer of audit entries."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from approvals import events
from audit.chain import GENESIS_HASH, body_prefix, canonical_json, entry_hash
from audit.models import AuditEntry, AuditHead, AuditVerification
from audit.verify import verify_after, verify_chain

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
    Open audit pages hear of the entry once it commits (see events.audit_appended).
    """
    with transaction.atomic(savepoint=False):
        entry = _append(actor=actor, event=event, action_id=action_id, data=data)
        events.audit_appended(seq=entry.seq)
    return entry


def _append(*, actor: str, event: str, action_id: UUID | str | None, data: Any) -> AuditEntry:
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


def audit_chain_state() -> AuditVerification:
    """The chain's state for the history page, verifying only what changed since the last look.

    The last verified (seq, hash) is kept in one row; each call checks the entries after it (and
    that the entry at seq still has that hash), so a look costs a few rows, not the whole chain.
    Once the last full check is older than ACTIONHUB_AUDIT_FULL_VERIFY_EVERY, the whole chain is
    re-hashed from the genesis, which also catches an edit inside the verified part.
    """
    now = timezone.now()
    state = AuditVerification.objects.filter(id=1).first()
    full = state is None or now - state.full_at >= settings.ACTIONHUB_AUDIT_FULL_VERIFY_EVERY
    if not full and not state.ok:
        return state  # a broken chain stays broken until the next full check says otherwise
    verdict = verify_chain() if full else verify_after(seq=state.seq, hash=state.hash)
    if not full and verdict.ok and verdict.entries == state.seq:
        return state  # nothing new: no write
    fields = {
        "ok": verdict.ok,
        "seq": verdict.entries,
        "hash": verdict.head,
        "broken_seq": verdict.broken_seq,
        "reason": verdict.reason[:200],
        "checked_at": now,
        "full_at": now if full else state.full_at,
    }
    state, _ = AuditVerification.objects.update_or_create(id=1, defaults=fields)
    return state
