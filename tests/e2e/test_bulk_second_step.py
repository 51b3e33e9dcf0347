"""Approving a selection takes the same second step as approving one irreversible, CRITICAL or
known-to-fail action; a selection of reversible HIGH actions is still approved in one."""

from __future__ import annotations

from tests.e2e.conftest import REVIEWERS, log_in

USERS = {"alice": [], "bob": REVIEWERS}
DELETE = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "notes/gone.txt"}}
CRITICAL = {"action_type": "config_change", "parameters": {"key": "quorum_critical", "value": 3}}


def write(path: str) -> dict:
    return {"action_type": "file_operation", "parameters": {"operation": "write", "path": path, "content": "x"}}


def status_of(site, action_id: str) -> str:
    return site.api("alice", "GET", f"/actions/{action_id}")[1]["status"]


def row(page, action_id: str):
    return page.locator(f"#action-{action_id}.row")


def test_it_lists_irreversible_and_critical_rows_before_approving_a_selection(browser, start_site, sandbox_image):
    site = start_site(users=USERS)
    writes = [site.api("alice", "POST", "/actions", write(f"notes/{index}.txt"))[1] for index in range(2)]
    _, gone = site.api("alice", "POST", "/actions", DELETE)
    _, critical = site.api("alice", "POST", "/actions", CRITICAL)
    everything = [*writes, gone, critical]
    bob = log_in(browser, site, "bob")
    bob.wait_for_selector("#live-state.ok")
    for action in everything:
        row(bob, action["id"]).wait_for()

    bob.check("#pick-all")
    assert bob.inner_text("#bulk-count") == "4 selected"
    bob.click("#bulk-form button[value=approve]")
    dialog = bob.locator("#bulk-approve-dialog")
    dialog.locator("[data-confirm-approve]").wait_for()
    listed = dialog.locator("[data-confirm-for]")
    # in queue order, soonest to expire first
    assert [item.get_attribute("data-confirm-for") for item in listed.all()] == [critical["id"], gone["id"]]
    text = dialog.inner_text()
    assert "Confirm approval of 4 actions" in text
    assert "This cannot be undone: a deleted file cannot be brought back." in text
    assert "delete notes/gone.txt" in text
    assert "quorum_critical" in text and "→ 3" in text  # what will change
    assert "2 others selected are approved with them" in text
    assert all(status_of(site, action["id"]) == "pending" for action in everything)

    # Cancel decides nothing and keeps the selection
    dialog.locator("[data-confirm-cancel]").click()
    assert not dialog.is_visible()
    assert bob.inner_text("#bulk-count") == "4 selected"
    assert all(status_of(site, action["id"]) == "pending" for action in everything)

    bob.click("#bulk-form button[value=approve]")
    dialog.locator("[data-confirm-approve]").click()
    results = bob.locator("#bulk-results")
    results.get_by_text("3 approved, 1 approval recorded").wait_for()
    assert not dialog.is_visible()
    for action in [*writes, gone]:
        row(bob, action["id"]).wait_for(state="detached")
        assert status_of(site, action["id"]) != "pending"
    # the CRITICAL one waits for a second reviewer, with bob's approval counted
    assert status_of(site, critical["id"]) == "pending"
    assert bob.inner_text("#bulk-count") == "none selected"
    assert bob.console_errors == []


def test_it_approves_a_selection_of_reversible_high_rows_in_one_step(browser, start_site, sandbox_image):
    site = start_site(users=USERS)
    writes = [site.api("alice", "POST", "/actions", write(f"notes/{index}.txt"))[1] for index in range(2)]
    _, gone = site.api("alice", "POST", "/actions", DELETE)
    bob = log_in(browser, site, "bob")
    bob.wait_for_selector("#live-state.ok")
    for action in writes:
        row(bob, action["id"]).locator(".pick").click()

    bob.click("#bulk-form button[value=approve]")
    bob.locator("#bulk-results").get_by_text("2 approved").wait_for()
    assert not bob.locator("#bulk-approve-dialog").is_visible()
    for action in writes:
        row(bob, action["id"]).wait_for(state="detached")
    assert status_of(site, gone["id"]) == "pending"
    assert bob.console_errors == []
