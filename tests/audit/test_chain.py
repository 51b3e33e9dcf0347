from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit import triggers
from audit.models import AuditEntry
from audit.services import audit_append
from audit.verify import Anchor, checkpoint_create, verify_chain


@contextmanager
def tampering():
    """What an attacker with database access does first: drop the append-only triggers."""
    triggers.uninstall(connection)
    try:
        yield
    finally:
        triggers.install(connection)


def _chain(n: int = 5) -> list[AuditEntry]:
    return [audit_append(actor="alice", event="test.event", data={"n": i, "text": "é"}) for i in range(n)]


def _verify(*args: str) -> tuple[int, str]:
    from io import StringIO

    out = StringIO()
    try:
        call_command("verify_audit", *args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = int(exc.code)
    return code, out.getvalue()


def test_it_links_entries_with_gapless_seqs_and_hashes(db):
    entries = _chain(3)
    assert [entry.seq for entry in entries] == [1, 2, 3]
    assert entries[1].prev_hash == entries[0].hash
    code, out = _verify()
    assert code == 0
    assert out.strip() == f"OK 3 entries, head {entries[-1].hash}"


def test_it_verifies_an_empty_chain(db):
    assert _verify() == (0, f"OK 0 entries, head {'0' * 64}\n")


def test_it_refuses_updates_and_deletes_in_the_database(db):
    _chain(1)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=1).update(actor="mallory")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=1).delete()
    assert AuditEntry.objects.get(seq=1).actor == "alice"


def test_it_detects_an_edited_entry(db):
    _chain()
    with tampering():
        AuditEntry.objects.filter(seq=3).update(data={"n": 99, "text": "é"})
    code, out = _verify()
    assert code == 1
    assert "BROKEN at seq 3" in out


def test_it_detects_an_edited_entry_with_a_recomputed_hash(db):
    from audit.chain import entry_hash

    _chain()
    entry = AuditEntry.objects.get(seq=2)
    forged = entry_hash(
        prev_hash=entry.prev_hash,
        seq=2,
        at=entry.at,
        actor="mallory",
        event=entry.event,
        action_id=None,
        data=entry.data,
    )
    with tampering():
        AuditEntry.objects.filter(seq=2).update(actor="mallory", hash=forged)
    code, out = _verify()
    assert (code, "BROKEN at seq 3" in out) == (1, True)


def test_it_detects_a_deleted_entry(db):
    _chain()
    with tampering():
        AuditEntry.objects.filter(seq=2).delete()
    code, out = _verify()
    assert code == 1
    assert "BROKEN at seq 2" in out


def test_it_detects_reordered_entries(db):
    _chain()
    with tampering():
        AuditEntry.objects.filter(seq=2).update(seq=100)
        AuditEntry.objects.filter(seq=3).update(seq=2)
        AuditEntry.objects.filter(seq=100).update(seq=3)
    code, out = _verify()
    assert code == 1
    assert "BROKEN at seq 2" in out


def test_it_detects_a_truncated_tail_through_the_head(db):
    _chain()
    with tampering():
        AuditEntry.objects.filter(seq__gte=4).delete()
    code, out = _verify()
    assert code == 1
    assert "BROKEN at seq 4" in out


def test_it_detects_a_truncated_tail_through_a_checkpoint_even_with_a_forged_head(db):
    from audit.models import AuditHead

    _chain()
    code, out = _verify("--checkpoint")
    assert code == 0
    assert "checkpoint 5:" in out
    with tampering():
        AuditEntry.objects.filter(seq__gte=4).delete()
        last = AuditEntry.objects.get(seq=3)
        AuditHead.objects.filter(id=1).update(seq=3, hash=last.hash)
    code, out = _verify()
    assert code == 1
    assert "checkpointed entry 5" in out


def test_it_checks_an_external_anchor(db):
    entries = _chain()
    assert _verify("--anchor", f"3:{entries[2].hash}")[0] == 0
    assert _verify("--anchor", f"3:{'a' * 64}")[0] == 1
    assert not verify_chain(anchors=[Anchor(9, "b" * 64)]).ok


def test_it_only_checkpoints_a_verified_chain(db):
    _chain(2)
    verdict = verify_chain()
    assert checkpoint_create(verdict).seq == 2


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"b": 1, "a": [1.5, None, True], "é": 'naïve\u2028"quoted"\n'},
        {"nested": {"z": {"y": [{"x": "🙂"}]}, "a": ""}, "n": 10**20},
        ["not", "a", "dict"],
    ],
)
@pytest.mark.parametrize("action_id", [None, "0b8f6c1e-6a4f-4d0e-9a59-2c1d3f4e5a6b"])
def test_it_builds_the_hashed_prefix_as_the_whole_body_serialized_would(data, action_id):
    from datetime import UTC, datetime

    from audit.chain import body_prefix, canonical_json, format_time

    at = datetime(2026, 12, 8, 3, 4, 5, 678901, tzinfo=UTC)
    actor, event = 'alice "the" reviewer é', "action.created"
    whole = canonical_json(
        {"action_id": action_id, "actor": actor, "at": format_time(at), "data": data, "event": event, "seq": 42}
    )
    prefix = body_prefix(at=at, actor=actor, event=event, action_id=action_id, data=data)
    assert prefix + "42}" == whole
    assert body_prefix(at=at, actor=actor, event=event, action_id=action_id, data_json="[1]") == (
        '{"action_id":' + ("null" if action_id is None else f'"{action_id}"') + ',"actor":"alice \\"the\\" '
        'reviewer é","at":"2026-12-08T03:04:05.678901Z","data":[1],"event":"action.created","seq":'
    ), "the data is put in as given"
