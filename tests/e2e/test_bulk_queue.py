"""A reviewer selects queue rows with the mouse and keyboard and decides them together in a real browser."""

from __future__ import annotations

from tests.e2e.conftest import REVIEWERS, log_in

USERS = {"alice": [], "bob": REVIEWERS, "carol": REVIEWERS}


def write(path: str) -> dict:
    """A reversible HIGH action: approved in bulk in one step (irreversible ones: test_bulk_second_step.py)."""
    return {"action_type": "file_operation", "parameters": {"operation": "write", "path": path, "content": "x"}}


def row(page, action_id: str):
    return page.locator(f"#action-{action_id}.row")


def test_it_bulk_approves_rows_picked_by_checkbox_shift_click_and_x(browser, start_site, sandbox_image):
    site = start_site(users=USERS)
    theirs = [site.api("alice", "POST", "/actions", write(f"notes/{index}.txt"))[1] for index in range(6)]
    _, own = site.api("bob", "POST", "/actions", write("bob/mine.txt"))
    _, edited = site.api("alice", "POST", "/actions", write("notes/edit-me.txt"))

    bob = log_in(browser, site, "bob")
    bob.wait_for_selector("#live-state.ok")
    assert bob.locator("#bulk-form button[value=approve]").is_disabled()

    # a checkbox, then shift-click: the range between them
    row(bob, theirs[0]["id"]).locator(".pick").click()
    row(bob, theirs[3]["id"]).locator(".pick").click(modifiers=["Shift"])
    assert bob.inner_text("#bulk-count") == "4 selected"
    # x toggles the focused row: the two after the range, bob's own action and the one carol edits
    for _ in range(4):
        bob.keyboard.press("j")
        bob.keyboard.press("x")
    assert bob.inner_text("#bulk-count") == "8 selected"
    assert all(row(bob, action["id"]).locator(".pick").is_checked() for action in [*theirs, own, edited])

    # carol edits one while it is selected: the row shows the new version, the selection keeps the old hash
    status, _ = site.api(
        "carol", "POST", f"/actions/{edited['id']}/edit", {"parameters": write("notes/x.txt")["parameters"]}
    )
    assert status == 200
    row(bob, edited["id"]).filter(has_text="notes/x.txt").wait_for()
    assert row(bob, edited["id"]).locator(".pick").is_checked()

    bob.click("#bulk-form button[value=approve]")
    results = bob.locator("#bulk-results")
    results.get_by_text("6 approved").wait_for()
    assert "2 refused" in results.inner_text()
    assert "your own action" in results.locator(f"[data-result-for='{own['id']}']").inner_text()
    assert "changed since you saw it" in results.locator(f"[data-result-for='{edited['id']}']").inner_text()
    for action in theirs:  # decided rows leave the queue live
        row(bob, action["id"]).wait_for(state="detached")
    # refused rows stay, each saying why, and nothing is selected any more
    assert "your own action" in row(bob, own["id"]).locator(".row-result").inner_text()
    assert "changed since you saw it" in row(bob, edited["id"]).locator(".row-result").inner_text()
    assert bob.inner_text("#bulk-count") == "none selected"
    for action in theirs:
        _, current = site.api("alice", "GET", f"/actions/{action['id']}")
        assert current["status"] in ("approved", "executing", "completed", "failed")
        assert current["approvals"][0]["user"] == "bob"

    # select all on the page, then reject: a reason is required first
    bob.check("#pick-all")
    assert bob.inner_text("#bulk-count") == "2 selected"
    bob.click("#bulk-form button[value=reject]")
    bob.get_by_text("Say why you reject them").wait_for()
    bob.fill("#bulk-reason", "not this week")
    bob.click("#bulk-form button[value=reject]")
    results.get_by_text("1 rejected").wait_for()
    row(bob, edited["id"]).wait_for(state="detached")
    _, rejected = site.api("alice", "GET", f"/actions/{edited['id']}")
    assert rejected["status"] == "rejected" and rejected["approvals"][0]["reason"] == "not this week"
    _, still = site.api("bob", "GET", f"/actions/{own['id']}")
    assert still["status"] == "pending"
    assert bob.console_errors == []
