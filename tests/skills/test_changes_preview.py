"""The detail page's diff of a file write, against the real file read through the real sandbox with
the workspace mounted read-only."""

from __future__ import annotations

import pytest
from django.test import Client

from approvals.presentation import action_diff
from skills import sandbox
from skills.registry import get_skill
from skills.runner import _limits, workspace_dir
from tests.factories import make_action

pytestmark = [pytest.mark.usefixtures("docker_sandbox"), pytest.mark.django_db]


def _write(alice, path: str, content: str):
    return make_action(
        alice, {"action_type": "file_operation", "parameters": {"operation": "write", "path": path, "content": content}}
    )


def _changes(bob, action) -> str:
    client = Client()
    client.force_login(bob)
    response = client.get(f"/approvals/{action.id}/changes/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.content.decode()


def test_it_diffs_a_write_against_the_file_in_the_workspace(alice, bob, workspace):
    workspace_dir("default")
    (workspace / "notes").mkdir()
    (workspace / "notes" / "plan.md").write_text("# Plan\nship it\nmaybe later\n")
    action = _write(alice, "notes/plan.md", "# Plan\nship it now\nmaybe later\n")

    client = Client()
    client.force_login(bob)
    detail = client.get(f"/approvals/{action.id}/").content.decode()
    assert f'hx-get="/approvals/{action.id}/changes/"' in detail  # the page does not wait for the sandbox

    html = _changes(bob, action)
    assert 'data-kind="diff"' in html
    assert "1 line added, 1 removed" in html
    assert '<span class="file">--- a/notes/plan.md</span>' in html
    assert '<span class="del">-ship it</span>' in html
    assert '<span class="add">+ship it now</span>' in html
    assert "<span> maybe later</span>" in html
    assert (workspace / "notes" / "plan.md").read_text() == "# Plan\nship it\nmaybe later\n"


def test_it_says_new_file_binary_or_too_large(alice, bob, workspace):
    workspace_dir("default")
    (workspace / "blob.txt").write_bytes(b"\xff\xfe\x00binary")
    (workspace / "huge.txt").write_text("y" * (1024 * 1024 + 10))

    assert "New file: nothing exists at this path yet" in _changes(bob, _write(alice, "fresh.md", "hello"))
    assert "binary (not UTF-8 text)" in _changes(bob, _write(alice, "blob.txt", "text now"))
    assert "too large to diff" in _changes(bob, _write(alice, "huge.txt", "small now"))


def test_it_calls_a_write_to_a_missing_workspace_a_new_file_without_creating_it(alice, bob, workspace, settings):
    action = make_action(
        alice,
        {
            "action_type": "file_operation",
            "parameters": {"operation": "write", "path": "a.md", "content": "x", "workspace": "fresh"},
        },
    )
    change = action_diff(action=action)
    assert (change.kind, change.note) == ("new", "new file: workspace 'fresh' does not exist yet")
    assert not (workspace.parent / "fresh").exists()


def test_it_mounts_the_workspace_read_only_for_previews(workspace):
    root = workspace_dir("default")
    skill = get_skill("filesystem")
    job = sandbox.SandboxJob(
        name="filesystem write (read-only check)",
        source=skill.entrypoint_path.read_text(),
        job={"params": {"operation": "write", "path": "x.txt", "content": "no"}, "limits": _limits()},
        profile=sandbox.Profile(memory=skill.memory, workspace=str(root), read_only=True),
        timeout=10,
    )
    with pytest.raises(sandbox.SandboxError, match="Read-only file system"):
        sandbox.run(job)
    assert not (root / "x.txt").exists()
