"""Hashing rules of the audit chain, shared by the writer and the verifier."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def format_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def body_prefix(
    *,
    at: datetime,
    actor: str,
    event: str,
    action_id: UUID | str | None,
    data: Any = None,
    data_json: str | None = None,
) -> str:
    """Canonical JSON of an entry up to its seq.

    `seq` sorts last among the keys, so the body is this prefix + str(seq) + "}"; the writer
    can prepare it before it knows seq, and Postgres finishes the hash under the head lock.
    The keys' order is fixed, so the body is put together around `data_json` (the canonical JSON
    of `data`, when the caller has it already) rather than serialized whole again.
    """
    if data_json is None:
        data_json = canonical_json(data)
    return (
        '{"action_id":'
        + json.dumps(str(action_id) if action_id else None)
        + ',"actor":'
        + json.dumps(actor, ensure_ascii=False)
        + ',"at":"'
        + format_time(at)
        + '","data":'
        + data_json
        + ',"event":'
        + json.dumps(event, ensure_ascii=False)
        + ',"seq":'
    )


def entry_hash(
    *, prev_hash: str, seq: int, at: datetime, actor: str, event: str, action_id: UUID | str | None, data: Any
) -> str:
    prefix = body_prefix(at=at, actor=actor, event=event, action_id=action_id, data=data)
    return hashlib.sha256(f"{prev_hash}{prefix}{seq}}}".encode()).hexdigest()
