"""Streams the audit chain and finds the first entry that does not fit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from audit.chain import GENESIS_HASH, entry_hash
from audit.models import AuditCheckpoint, AuditEntry, AuditHead

CHUNK = 20_000


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


def verify_chain(*, anchors: Iterable[Anchor] = ()) -> Verdict:
    """Check every link; then the head row and every anchor (checkpoints catch truncation)."""
    wanted = {anchor.seq: anchor.hash for anchor in anchors}
    wanted.update(dict(AuditCheckpoint.objects.values_list("seq", "hash")))
    expected_seq, prev = 1, GENESIS_HASH
    count = 0
    rows = AuditEntry.objects.order_by("seq").values_list(
        "seq", "at", "actor", "event", "action_id", "data", "prev_hash", "hash"
    )
    for seq, at, actor, event, action_id, data, prev_hash, stored_hash in rows.iterator(chunk_size=CHUNK):
        if seq != expected_seq:
            return Verdict(False, count, prev, expected_seq, f"entry {expected_seq} is missing (next is {seq})")
        if prev_hash != prev:
            return Verdict(False, count, prev, seq, "prev_hash does not match the previous entry's hash")
        computed = entry_hash(
            prev_hash=prev_hash, seq=seq, at=at, actor=actor, event=event, action_id=action_id, data=data
        )
        if computed != stored_hash:
            return Verdict(False, count, prev, seq, "entry content does not match its hash")
        if seq in wanted and wanted[seq] != stored_hash:
            return Verdict(False, count, prev, seq, "entry differs from the checkpoint taken of it")
        prev, expected_seq, count = stored_hash, seq + 1, count + 1
    missing = sorted(seq for seq in wanted if seq >= expected_seq)
    if missing:
        return Verdict(False, count, prev, expected_seq, f"chain ends before checkpointed entry {missing[0]}")
    head = AuditHead.objects.filter(id=1).first()
    if head is not None and (head.seq, head.hash) != (count, prev):
        return Verdict(False, count, prev, expected_seq, f"chain ends at {count} but its head records entry {head.seq}")
    return Verdict(True, count, prev)


def checkpoint_create(verdict: Verdict) -> AuditCheckpoint | None:
    if not verdict.ok or verdict.entries == 0:
        return None
    return AuditCheckpoint.objects.create(seq=verdict.entries, hash=verdict.head)
