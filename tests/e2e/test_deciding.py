"""Approving what cannot be undone is deliberate: a second step on the detail page and behind the
queue's `a` key, while a reversible HIGH action is still approved in one."""

from __future__ import annotations

from tests.e2e.conftest import REVIEWERS, log_in

USERS = {"alice": [], "bob": REVIEWERS}
DELETE = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "notes/gone.txt"}}
WRITE = {"action_type": "file_operation", "parameters": {"operation": "write", "path": "notes/n.txt", "content": "x"}}


def status_of(site, action_id: str) -> str:
    return site.api("alice", "GET", f"/actions/{action_id}")[1]["status"]


def decided(page) -> None:
    """Wait until the page shows the action decided (the worker may already have run it)."""
    page.locator("#detail-live [data-status]").filter(has_not_text="pending").wait_for()


def test_it_takes_a_second_step_to_approve_an_irreversible_action(browser, start_site):
    site = start_site(users=USERS)
    _, action = site.api("alice", "POST", "/actions", DELETE)
    bob = log_in(browser, site, "bob", f"/approvals/{action['id']}/")
    bob.wait_for_selector("#live-state.ok")

    bob.click("#decision button[value=approve]")
    step = bob.locator("#confirm-approve")
    step.wait_for()
    assert "This cannot be undone: a deleted file cannot be brought back." in step.inner_text()
    assert "delete notes/gone.txt" in step.inner_text()
    assert status_of(site, action["id"]) == "pending"

    step.locator("[data-confirm-approve]").click()
    decided(bob)
    assert status_of(site, action["id"]) != "pending"
    assert bob.console_errors == []


def test_it_approves_a_reversible_high_action_in_one_step(browser, start_site, sandbox_image):
    site = start_site(users=USERS)
    _, action = site.api("alice", "POST", "/actions", WRITE)
    assert action["security_level"] == "high"
    bob = log_in(browser, site, "bob", f"/approvals/{action['id']}/")
    bob.wait_for_selector("#live-state.ok")
    bob.click("#decision button[value=approve]")
    decided(bob)
    assert bob.locator("#confirm-approve").count() == 0
    assert status_of(site, action["id"]) != "pending"


def test_it_opens_the_second_step_when_a_is_pressed_on_an_irreversible_row(browser, start_site):
    site = start_site(users=USERS)
    _, gone = site.api("alice", "POST", "/actions", DELETE)
    bob = log_in(browser, site, "bob")
    bob.wait_for_selector("#live-state.ok")
    row = bob.locator(f"#action-{gone['id']}.row")
    row.wait_for()

    row.locator(".badge").first.click()
    bob.keyboard.press("a")
    dialog = bob.locator("#approve-dialog")
    dialog.locator("[data-confirm-approve]").wait_for()
    assert "This cannot be undone" in dialog.inner_text()
    assert status_of(site, gone["id"]) == "pending"

    # Cancel leaves it waiting; confirming approves it and the row leaves the queue
    dialog.locator("[data-confirm-cancel]").click()
    assert not dialog.is_visible()
    assert status_of(site, gone["id"]) == "pending"
    bob.keyboard.press("a")
    dialog.locator("[data-confirm-approve]").click()
    row.wait_for(state="detached")
    assert status_of(site, gone["id"]) != "pending"
    assert bob.console_errors == []


def test_it_approves_a_reversible_row_at_once_with_a(browser, start_site, sandbox_image):
    site = start_site(users=USERS)
    _, write = site.api("alice", "POST", "/actions", WRITE)
    bob = log_in(browser, site, "bob")
    bob.wait_for_selector("#live-state.ok")
    row = bob.locator(f"#action-{write['id']}.row")
    row.wait_for()
    bob.keyboard.press("j")
    bob.keyboard.press("a")
    row.wait_for(state="detached")
    assert not bob.locator("#approve-dialog").is_visible()
    assert status_of(site, write["id"]) != "pending"
