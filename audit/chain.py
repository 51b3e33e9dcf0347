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


def entry_hash(
    *, prev_hash: str, seq: int, at: datetime, actor: str, event: str, action_id: UUID | str | None, data: Any
) -> str:
    body = canonical_json(
        {
            "seq": seq,
            "at": format_time(at),
            "actor": actor,
            "event": event,
            "action_id": str(action_id) if action_id else None,
            "data": data,
        }
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()
