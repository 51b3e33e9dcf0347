"""A rule admin turns a held action into a standing rule in a real browser, watching the preview."""

from __future__ import annotations

from tests.e2e.conftest import log_in

USERS = {"alice": [], "erin": ["reviewers", "rule_admins"]}


def delete(path: str) -> dict:
    return {"action_type": "file_operation", "parameters": {"operation": "delete", "path": path}}


def test_it_lets_a_newer_preview_wait_for_the_one_in_flight_on_a_slow_network(browser, start_site):
    site = start_site(users=USERS)
    _, first = site.api("alice", "POST", "/actions", delete("notes/a.txt"))
    site.api("alice", "POST", "/actions", delete("notes/b.txt"))
    page = log_in(browser, site, "erin", f"/approvals/rules/new/{first['id']}/")
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 700, "downloadThroughput": -1, "uploadThroughput": -1},
    )

    # Each edit lands while the previous preview is still on the wire. Aborting it (the old
    # hx-sync "replace") logged two console errors per edit; queued, the last edit's preview wins.
    page.select_option("#id_kind_path", "exact")
    page.fill("#id_value_path", "notes/a.txt")
    page.wait_for_timeout(450)
    page.select_option("#id_kind_path", "glob")
    page.fill("#id_value_path", "notes/*.txt")
    page.wait_for_function("() => document.querySelector('[data-preview-count]')?.innerText === '2'")
    page.fill("#id_note", "both are scratch files")
    page.click("text=Approve and save the rule")
    page.wait_for_url(f"{site.url}/approvals/{first['id']}/")
    page.get_by_text("now allows similar actions").wait_for()
    assert page.console_errors == []


def test_it_creates_a_rule_from_a_held_action_with_a_live_preview(browser, start_site, tmp_path):
    site = start_site(users=USERS)
    _, first = site.api("alice", "POST", "/actions", delete("notes/a.txt"))
    site.api("alice", "POST", "/actions", delete("notes/b.txt"))
    page = log_in(browser, site, "erin", f"/approvals/{first['id']}/")

    page.click("text=Approve and allow similar…")
    page.wait_for_url(f"{site.url}/approvals/rules/new/{first['id']}/")
    count = page.locator("[data-preview-count]")
    assert count.inner_text() == "2"
    assert page.locator("#id_value_path").input_value() == "notes/*.txt"

    # Narrow the path to this very file: the preview follows without a reload.
    page.select_option("#id_kind_path", "exact")
    page.fill("#id_value_path", "notes/a.txt")
    page.wait_for_function("() => document.querySelector('[data-preview-count]').innerText === '1'")
    page.select_option("#id_kind_path", "glob")
    page.fill("#id_value_path", "../*")
    page.get_by_text("Not a valid rule yet").wait_for()
    assert "relative to the workspace" in page.locator("#rule-preview").inner_text()
    page.select_option("#id_kind_path", "exact")
    page.fill("#id_value_path", "notes/a.txt")
    page.wait_for_function("() => document.querySelector('[data-preview-count]')?.innerText === '1'")
    page.fill("#id_note", "a.txt is regenerated nightly")
    page.screenshot(path=str(tmp_path / "rule-form.png"), full_page=True)

    page.click("text=Approve and save the rule")
    page.wait_for_url(f"{site.url}/approvals/{first['id']}/")
    page.get_by_text("now allows similar actions").wait_for()

    status, again = site.api("alice", "POST", "/actions", delete("notes/a.txt"))
    assert status == 201 and again["status"] in ("approved", "executing", "completed", "failed")
    page.goto(f"{site.url}/approvals/{again['id']}/")
    timeline = page.locator(".timeline").inner_text()
    assert "rule.matched by rule:" in timeline and "action.approved by rule:" in timeline
    assert "a.txt is regenerated nightly" in timeline

    page.goto(f"{site.url}/approvals/rules/")
    assert "notes/a.txt" in page.locator("table.rules").inner_text()
    page.screenshot(path=str(tmp_path / "rules-list.png"), full_page=True)
    page.click("button:has-text('Disable')")
    page.get_by_text("decides nothing from now on").wait_for()
    _, third = site.api("alice", "POST", "/actions", delete("notes/a.txt"))
    assert third["status"] == "pending"
    assert page.console_errors == []
