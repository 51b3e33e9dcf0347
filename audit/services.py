"""The only writer of audit entries."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from audit import events
from audit.chain import GENESIS_HASH, body_prefix, canonical_json, entry_hash
from audit.models import AuditEntry, AuditHead, AuditVerification
from audit.verify import verify_after
from realtime.broadcast import written_in_transaction

SYSTEM_ACTOR = "system"

# One statement links the entry under the head row's lock, so the lock is held only from
# here to COMMIT: the hash is finished in SQL from the prefix computed in Python.
_HEAD = """
head AS (
    UPDATE audit_audithead
       SET prev_hash = hash,
           seq = seq + 1,
           hash = encode(
               sha256(convert_to(hash, 'UTF8') || {prefix} || convert_to((seq + 1)::text || '}}', 'UTF8')), 'hex'
           )
     WHERE id = 1
 RETURNING seq, hash, prev_hash
)"""
_ENTRY = """
INSERT INTO audit_auditentry (seq, at, actor, event, action_id, data, prev_hash, hash)
SELECT head.seq, {at}, {actor}, {event}, {action_id}, {data}, head.prev_hash, head.hash FROM {source}
RETURNING seq, prev_hash, hash
"""
_POSTGRES_APPEND = (
    "WITH"
    + _HEAD.format(prefix="%(prefix)s")
    + _ENTRY.format(
        at="%(at)s", actor="%(actor)s", event="%(event)s", action_id="%(action_id)s", data="%(data)s", source="head"
    )
)
_POSITIONAL = {"at": "%s", "actor": "%s", "event": "%s", "action_id": "%s", "data": "%s"}
# A missing head row fails the whole statement (a NULL seq), rather than making the change alone.
_HEAD_OR_NULLS = "(VALUES (1)) AS one (x) LEFT JOIN head ON true"
_with_change: dict[tuple[str, bool], str] = {}


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


def audit_append_with(
    *, change: tuple[str, list[Any]], actor: str, event: str, action_id: UUID | str | None = None, data: Any = None
) -> AuditEntry:
    """Insert a row (`change`: one INSERT with `%s` placeholders and no RETURNING, as
    lib.inserts.insert_statement gives it) and append the entry that records it, in one SQL
    statement: both are written, or neither. (An INSERT only: an UPDATE or DELETE that matched no
    row would still be recorded.)

    On PostgreSQL outside a transaction the statement commits by itself, so the write and its entry
    cost one round trip (no BEGIN, no COMMIT) and the head is locked only while it runs; the entry's
    broadcast follows it. Inside a transaction the statement joins it. On other databases, and
    outside a transaction where broadcasts are written in one (the database channel layer), the
    insert and `audit_append` run in one transaction.
    """
    change_sql, change_params = change
    if not change_sql.lstrip().upper().startswith("INSERT "):
        raise ValueError("audit_append_with records an INSERT")
    if connection.vendor != "postgresql" or (not connection.in_atomic_block and written_in_transaction()):
        with transaction.atomic(savepoint=False):
            with connection.cursor() as cursor:
                cursor.execute(change_sql, change_params)
            return audit_append(actor=actor, event=event, action_id=action_id, data=data)
    data, at, action_id = _prepared(data, action_id)
    data_json = canonical_json(data)
    prefix = body_prefix(at=at, actor=actor, event=event, action_id=action_id, data_json=data_json)
    alone = not connection.in_atomic_block
    key = (change_sql, alone)
    sql = _with_change.get(key)
    if sql is None:
        source = _HEAD_OR_NULLS if alone else "head"
        sql = (
            "WITH change AS ("
            + change_sql
            + "),"
            + _HEAD.format(prefix="%s")
            + _ENTRY.format(**_POSITIONAL, source=source)
        )
        _with_change[key] = sql
    params = [*change_params, prefix.encode(), at, actor, event, action_id, data_json]
    row = _execute_with_head(sql, params, alone=alone)
    if row is None:  # in a transaction whose head row was missing: the change is made, its entry follows
        entry = _append_postgres(actor=actor, event=event, action_id=action_id, data=data, at=at)
    else:
        seq, prev_hash, digest = row
        entry = AuditEntry(
            seq=seq, at=at, actor=actor, event=event, action_id=action_id, data=data, prev_hash=prev_hash, hash=digest
        )
    events.audit_appended(seq=entry.seq)  # alone: committed already, so sent at once
    return entry


def _execute_with_head(sql: str, params: list[Any], *, alone: bool) -> tuple[int, str, str] | None:
    """Run a statement that appends; alone, a missing head row is made and the statement run again."""
    try:
        return _fetch_one(sql, params)
    except IntegrityError:
        if not alone or _head_exists():
            raise
    _head_create()
    return _fetch_one(sql, params)


def _fetch_one(sql: str, params: Any) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _head_exists() -> bool:
    return AuditHead.objects.filter(id=1).exists()


def _head_create() -> None:
    """An emptied table (e.g. flushed between tests) lost its head row: start it again."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_audithead (id, seq, hash, prev_hash) VALUES (1, 0, %s, '') ON CONFLICT DO NOTHING",
            [GENESIS_HASH],
        )


def _prepared(data: Any, action_id: UUID | str | None) -> tuple[Any, datetime, str | None]:
    # Round-trip through canonical JSON so what we hash is exactly what the database returns.
    return (
        json.loads(canonical_json({} if data is None else data)),
        timezone.now(),
        str(action_id) if action_id else None,
    )


def _append(*, actor: str, event: str, action_id: UUID | str | None, data: Any) -> AuditEntry:
    data, at, action_id = _prepared(data, action_id)
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
    data_json = canonical_json(data)
    prefix = body_prefix(at=at, actor=actor, event=event, action_id=action_id, data_json=data_json)
    params = {
        "prefix": prefix.encode(),
        "at": at,
        "actor": actor,
        "event": event,
        "action_id": action_id,
        "data": data_json,
    }
    with transaction.atomic(savepoint=False):
        row = _fetch_one(_POSTGRES_APPEND, params)
        if row is None:
            _head_create()
            row = _fetch_one(_POSTGRES_APPEND, params)
        seq, prev_hash, digest = row
    return AuditEntry(
        seq=seq, at=at, actor=actor, event=event, action_id=action_id, data=data, prev_hash=prev_hash, hash=digest
    )


# The page re-hashes at most this many new entries per request; a longer backlog is left to the
# next look (or the worker's full pass) and the banner says how far it got.
PAGE_VERIFY_LIMIT = 2_000
# A full pass works in chunks of this many entries, saving its progress after each one.
PASS_CHUNK = 20_000
PASS_LEASE = timedelta(minutes=2)


def _state() -> AuditVerification:
    state = AuditVerification.objects.filter(id=1).first()
    if state is None:
        state, _ = AuditVerification.objects.get_or_create(id=1, defaults={"hash": GENESIS_HASH})
    return state


def audit_chain_state() -> AuditVerification:
    """The chain's state for the history page, checking only what changed since the last look.

    Cheap by design: the stored verified (seq, hash) must still match, then at most
    PAGE_VERIFY_LIMIT newer entries are re-hashed. Full passes from the genesis (the first
    one included) run in the worker's maintenance (audit_full_pass_step), never here.
    """
    state = _state()
    if not state.verified or not state.ok:
        return state  # nothing trusted yet, or broken until the next full pass says otherwise
    verdict = verify_after(seq=state.seq, hash=state.hash, limit=PAGE_VERIFY_LIMIT)
    if verdict.ok and verdict.entries == state.seq:
        return state  # nothing new: no write
    fields = {"checked_at": timezone.now()}
    if verdict.ok:
        fields.update(seq=verdict.entries, hash=verdict.head)
        # Never move backwards past a newer result written meanwhile (another request, the worker).
        AuditVerification.objects.filter(id=1, ok=True, seq__lt=verdict.entries).update(**fields)
    else:
        fields.update(ok=False, seq=verdict.entries, broken_seq=verdict.broken_seq, reason=verdict.reason[:200])
        AuditVerification.objects.filter(id=1).update(**fields)
    state.refresh_from_db()
    return state


def _lease(*, owner: str, now: Any) -> bool:
    """Compare-and-set: take or renew the pass lease unless another live worker holds it."""
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner)
    return bool(AuditVerification.objects.filter(free, id=1).update(lease_owner=owner, lease_until=now + PASS_LEASE))


def audit_full_pass_step(*, owner: str, budget: float = 2.0, chunk: int = PASS_CHUNK) -> str:
    """Run the due full pass for about `budget` seconds, in chunks that each save their progress.

    Returns what happened: "idle" (not due), "busy" (another worker holds the lease),
    "progress", "verified" or "broken". A worker that stops mid-pass leaves `pass_seq`; the
    next one to take the lease resumes from there (after checking that entry still has the hash).
    """
    state = _state()
    now = timezone.now()
    due = state.full_at is None or now - state.full_at >= settings.ACTIONHUB_AUDIT_FULL_VERIFY_EVERY
    if state.pass_seq is None and not due:
        return "idle"
    if not _lease(owner=owner, now=now):
        return "busy"
    state.refresh_from_db()
    if state.pass_seq is None:
        state.pass_seq, state.pass_hash, state.pass_started_at = 0, GENESIS_HASH, now
        AuditVerification.objects.filter(id=1).update(pass_seq=0, pass_hash=GENESIS_HASH, pass_started_at=now)
    started = time.monotonic()
    outcome = "progress"
    while True:
        verdict = verify_after(seq=state.pass_seq, hash=state.pass_hash, limit=chunk)
        now = timezone.now()
        if verdict.ok and not verdict.done:
            state.pass_seq, state.pass_hash = verdict.entries, verdict.head
            if not AuditVerification.objects.filter(id=1, lease_owner=owner).update(
                pass_seq=verdict.entries, pass_hash=verdict.head, lease_until=now + PASS_LEASE
            ):
                return "busy"  # lost the lease (we stalled past it): the new holder goes on
            if time.monotonic() - started >= budget:
                return outcome
            continue
        ours = AuditVerification.objects.filter(id=1, lease_owner=owner)
        done = {"pass_seq": None, "pass_hash": "", "full_at": now, "checked_at": now, "lease_until": None}
        if verdict.ok:
            # The pass re-hashed everything up to its end: that is now the verified point, and it
            # clears an earlier "broken" if the chain was repaired.
            done.update(ok=True, seq=verdict.entries, hash=verdict.head, broken_seq=None, reason="")
            outcome = "verified"
        else:
            done.update(ok=False, seq=verdict.entries, broken_seq=verdict.broken_seq, reason=verdict.reason[:200])
            outcome = "broken"
        return outcome if ours.update(**done) else "busy"
