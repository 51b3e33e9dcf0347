"""Streams the audit chain and finds the first entry that does not fit."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from hashlib import sha256
from uuid import UUID

from django.db import connection, transaction

from audit.chain import GENESIS_HASH
from audit.models import AuditCheckpoint, AuditEntry, AuditHead

CHUNK = 10_000

# Rows come back with `at` already in the chain's text form, so verifying costs no datetime work.
_POSTGRES_ROWS = """
SELECT seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), actor, event,
       action_id::text, data, prev_hash, hash
  FROM audit_auditentry WHERE seq > %s ORDER BY seq
"""
_SQLITE_ROWS = (
    "SELECT seq, at, actor, event, action_id, data, prev_hash, hash FROM audit_auditentry WHERE seq > %s ORDER BY seq"
)

# Actors and event names repeat across the chain: encode each once.
_string = lru_cache(maxsize=65536)(json.JSONEncoder(ensure_ascii=False).encode)


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    head: str
    broken_seq: int | None = None
    reason: str = ""


def _sqlite_time(value: datetime | str) -> str:
    # Django stores UTC as "YYYY-MM-DD HH:MM:SS[.ffffff]" in SQLite; its cursor may parse it to a naive datetime.
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if "." not in value:
        value += ".000000"
    return value.replace(" ", "T") + "Z"


def _rows(after: int = 0) -> Iterator[tuple]:
    """Entries after seq `after` in seq order: (seq, at text, actor, event, action_id text, data JSON, prev, hash)."""
    sqlite = connection.vendor == "sqlite"
    with transaction.atomic():
        cursor = connection.chunked_cursor()
        cursor.execute(_SQLITE_ROWS if sqlite else _POSTGRES_ROWS, [after])
        while rows := cursor.fetchmany(CHUNK):
            if not sqlite:
                yield from rows
                continue
            for seq, at, actor, event, action_id, data, prev_hash, stored in rows:
                yield (
                    seq,
                    _sqlite_time(at),
                    actor,
                    event,
                    str(UUID(action_id)) if action_id else None,
                    data,
                    prev_hash,
                    stored,
                )


def row_hash(prev_hash: str, seq: int, at: str, actor: str, event: str, action_id: str | None, data: str) -> str:
    """The same bytes as audit.chain.entry_hash, built from stored text: `data` is already canonical JSON."""
    action = f'"{action_id}"' if action_id else "null"
    body = (
        f'{prev_hash}{{"action_id":{action},"actor":{_string(actor)},"at":"{at}",'
        f'"data":{data},"event":{_string(event)},"seq":{seq}}}'
    )
    return sha256(body.encode()).hexdigest()


def verify_chain(*, anchors: Iterable[Anchor] = ()) -> Verdict:
    """Check every link; then the head row and every anchor (checkpoints catch truncation)."""
    wanted = {anchor.seq: anchor.hash for anchor in anchors}
    wanted.update(dict(AuditCheckpoint.objects.values_list("seq", "hash")))
    return _walk(after=0, prev=GENESIS_HASH, wanted=wanted)


def verify_after(*, seq: int, hash: str) -> Verdict:
    """Check only the entries after `seq`, trusting the chain up to it (verified earlier) to end in `hash`.

    The stored entry at `seq` must still carry that hash: rewriting any verified entry and
    re-hashing the rest to match would change it. An edit below `seq` that leaves the hashes
    alone is found by the next full verify_chain, not here.
    """
    if seq > 0:
        stored = AuditEntry.objects.filter(seq=seq).values_list("hash", flat=True).first()
        if stored != hash:
            what = "is missing" if stored is None else "no longer has the hash it was verified with"
            return Verdict(False, seq - 1, hash, seq, f"entry {seq} {what}")
    wanted = dict(AuditCheckpoint.objects.filter(seq__gt=seq).values_list("seq", "hash"))
    return _walk(after=seq, prev=hash, wanted=wanted)


def _walk(*, after: int, prev: str, wanted: dict[int, str], retries: int = 3) -> Verdict:
    expected_seq = after + 1
    for seq, at, actor, event, action_id, data, prev_hash, stored_hash in _rows(after):
        if seq != expected_seq:
            return Verdict(
                False, expected_seq - 1, prev, expected_seq, f"entry {expected_seq} is missing (next is {seq})"
            )
        if prev_hash != prev:
            return Verdict(False, seq - 1, prev, seq, "prev_hash does not match the previous entry's hash")
        if row_hash(prev_hash, seq, at, actor, event, action_id, data) != stored_hash:
            return Verdict(False, seq - 1, prev, seq, "entry content does not match its hash")
        if seq in wanted and wanted[seq] != stored_hash:
            return Verdict(False, seq - 1, prev, seq, "entry differs from the checkpoint taken of it")
        prev, expected_seq = stored_hash, seq + 1
    count = expected_seq - 1
    missing = sorted(seq for seq in wanted if seq > count)
    if missing:
        return Verdict(False, count, prev, expected_seq, f"chain ends before checkpointed entry {missing[0]}")
    head = AuditHead.objects.filter(id=1).first()
    if head is not None and head.seq > count and retries and AuditEntry.objects.filter(seq=count + 1).exists():
        # Entries committed while the rows streamed: check them too rather than call the tail truncated.
        return _walk(after=count, prev=prev, wanted=wanted, retries=retries - 1)
    if head is not None and (head.seq, head.hash) != (count, prev):
        return Verdict(False, count, prev, expected_seq, f"chain ends at {count} but its head records entry {head.seq}")
    return Verdict(True, count, prev)


def checkpoint_create(verdict: Verdict) -> AuditCheckpoint | None:
    if not verdict.ok or verdict.entries == 0:
        return None
    return AuditCheckpoint.objects.create(seq=verdict.entries, hash=verdict.head)
