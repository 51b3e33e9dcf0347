"""The filesystem skill in the real sandbox: operations, limits, links, and an audit entry for each."""

from __future__ import annotations

import os

import pytest

from approvals.models import Status
from audit.models import AuditEntry
from skills.runner import workspace_dir
from tests.skills.conftest import run_approved

pytestmark = [pytest.mark.usefixtures("docker_sandbox"), pytest.mark.django_db(transaction=True)]


def _file_op(alice, bob, **parameters):
    return run_approved(alice, bob, {"action_type": "file_operation", "parameters": parameters})


def test_it_writes_reads_lists_and_deletes_inside_the_workspace(alice, bob, workspace):
    assert _file_op(alice, bob, operation="mkdir", path="notes/2026").status == Status.COMPLETED
    written = _file_op(alice, bob, operation="write", path="notes/2026/plan.md", content="# Plan\nship it\n")
    assert written.status == Status.COMPLETED, written.error
    assert written.result == {"path": "notes/2026/plan.md", "size": 15}
    assert (workspace / "notes/2026/plan.md").read_text() == "# Plan\nship it\n"

    read = _file_op(alice, bob, operation="read", path="notes/2026/plan.md")
    assert read.result == {"path": "notes/2026/plan.md", "content": "# Plan\nship it\n", "size": 15}
    listed = _file_op(alice, bob, operation="list", path="notes")
    assert listed.result["entries"] == [{"name": "2026", "type": "directory"}]

    assert _file_op(alice, bob, operation="delete", path="notes/2026/plan.md").status == Status.COMPLETED
    assert not (workspace / "notes/2026/plan.md").exists()
    assert _file_op(alice, bob, operation="delete", path="notes/2026").result["deleted"] == "directory"


def test_it_makes_missing_folders_for_a_write_but_never_follows_a_link_on_the_way(alice, bob, workspace):
    written = _file_op(alice, bob, operation="write", path="reports/2026/q3.md", content="draft")
    assert written.status == Status.COMPLETED, written.error
    assert (workspace / "reports/2026/q3.md").read_text() == "draft"
    outside = workspace.parent / "outside-folder"
    outside.mkdir()
    (workspace / "linked").symlink_to(outside)
    refused = _file_op(alice, bob, operation="write", path="linked/new/x.md", content="no")
    assert refused.status == Status.FAILED
    assert "symbolic link" in refused.error
    assert list(outside.iterdir()) == []


def test_it_audits_every_operation_with_its_outcome(alice, bob, workspace):
    ok = _file_op(alice, bob, operation="write", path="a.txt", content="hi")
    missing = _file_op(alice, bob, operation="read", path="missing.txt")
    assert missing.status == Status.FAILED
    assert missing.error == "no such file or directory: 'missing.txt'"
    written = AuditEntry.objects.get(action_id=ok.id, event="file.write")
    assert written.actor == "alice"
    assert written.data == {"workspace": "default", "operation": "write", "path": "a.txt", "ok": True, "bytes": 2}
    failed = AuditEntry.objects.get(action_id=missing.id, event="file.read")
    assert failed.data["ok"] is False
    assert failed.data["error"] == missing.error


def test_it_never_follows_a_symlink_planted_in_the_workspace(alice, bob, workspace, tmp_path):
    secret = tmp_path / "host-secret.txt"
    secret.write_text("TOP SECRET")
    _file_op(alice, bob, operation="mkdir", path="inbox")
    os.symlink(secret, workspace / "inbox" / "leak.txt")
    os.symlink(tmp_path, workspace / "escape")

    read = _file_op(alice, bob, operation="read", path="inbox/leak.txt")
    assert read.status == Status.FAILED
    assert "symbolic link" in read.error
    through = _file_op(alice, bob, operation="read", path="escape/host-secret.txt")
    assert through.status == Status.FAILED
    assert "symbolic link" in through.error
    overwrite = _file_op(alice, bob, operation="write", path="inbox/leak.txt", content="pwned")
    assert overwrite.status == Status.FAILED
    listed = _file_op(alice, bob, operation="list", path="inbox")
    assert listed.result["entries"] == [{"name": "leak.txt", "type": "symlink"}]
    assert secret.read_text() == "TOP SECRET"
    assert "TOP SECRET" not in str([read.result, through.result, listed.result])

    removed = _file_op(alice, bob, operation="delete", path="inbox/leak.txt")
    assert removed.result == {"path": "inbox/leak.txt", "deleted": "symlink"}
    assert secret.exists()


def test_it_refuses_disallowed_extensions_at_submission_and_in_the_sandbox(alice, bob, api_as, workspace):
    response = api_as(alice).post(
        "/actions",
        {"action_type": "file_operation", "parameters": {"operation": "write", "path": "x.so", "content": ""}},
    )
    assert response.status_code == 400
    assert "path" in response.json()["errors"]
    (workspace_dir("default") / "run.sh").write_text("echo planted")
    deleted = _file_op(alice, bob, operation="delete", path="run.sh")
    assert deleted.status == Status.FAILED
    assert "not allowed" in deleted.error


def test_it_enforces_the_read_and_write_limits(alice, bob, workspace, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024
    too_big = _file_op(alice, bob, operation="write", path="big.txt", content="x" * (10 * 1024 * 1024 + 1))
    assert too_big.status == Status.FAILED
    assert too_big.error == "content is 10485761 bytes, over the 10485760 byte write limit"
    written = _file_op(alice, bob, operation="write", path="big.txt", content="x" * (1024 * 1024 + 1))
    assert written.status == Status.COMPLETED
    read = _file_op(alice, bob, operation="read", path="big.txt")
    assert read.status == Status.FAILED
    assert read.error == "file is 1048577 bytes, over the 1048576 byte read limit"


def test_it_keeps_workspaces_apart(alice, bob, workspace):
    _file_op(alice, bob, operation="write", path="only-here.txt", content="a", workspace="team-a")
    other = _file_op(alice, bob, operation="read", path="only-here.txt", workspace="team-b")
    assert other.status == Status.FAILED
    assert (workspace.parent / "team-a" / "only-here.txt").read_text() == "a"
