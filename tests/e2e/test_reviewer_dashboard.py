"""Reviewers work the live queue in real browsers against a live server and worker."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import REVIEWERS, log_in

CRITICAL = {"action_type": "config_change", "parameters": {"key": "quorum_critical", "value": 2}}
HIGH = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "reports/q3-draft.md"}}

USERS = {"alice": REVIEWERS, "bob": REVIEWERS, "carol": REVIEWERS, "dave": REVIEWERS}


def row(page, action_id: str):
    return page.locator(f"#action-{action_id}.row")


def test_it_lets_two_reviewers_work_a_live_queue(browser, start_site):
    site = start_site(users=USERS)
    bob = log_in(browser, site, "bob")
    carol = log_in(browser, site, "carol")
    for page in (bob, carol):
        page.wait_for_selector("#live-state.ok")

    status, action = site.api("alice", "POST", "/actions", CRITICAL)
    assert status == 201 and action["status"] == "pending"
    for page in (bob, carol):  # it appears without reloading
        row(page, action["id"]).wait_for()
        assert "0/2" in row(page, action["id"]).inner_text()
        assert re.search(r"\(\d+\) Approvals", page.title())

    # bob opens it from the keyboard and approves on the detail page; carol's queue shows 1/2
    bob.keyboard.press("j")
    bob.keyboard.press("Enter")
    bob.wait_for_url(f"{site.url}/approvals/{action['id']}/")
    assert '"key": "quorum_critical"' in bob.locator("pre.json").first.inner_text()
    bob.wait_for_selector("#live-state.ok")
    bob.click("button[value=approve]")  # CRITICAL: a second step first
    bob.click("#decision [data-confirm-approve]")
    bob.get_by_text("Your approval is recorded (1 of 2)").wait_for()
    carol.wait_for_function(
        "id => (document.getElementById('action-' + id) || {}).innerText?.includes('1/2')", arg=action["id"]
    )

    # carol approves from the queue with the keyboard: it leaves both queues and finishes
    carol.keyboard.press("j")
    carol.keyboard.press("a")
    carol.click("#approve-dialog [data-confirm-approve]")
    for page in (carol,):
        row(page, action["id"]).wait_for(state="detached")
    bob.locator("#detail-live [data-status]").filter(has_text="completed").wait_for()
    assert "Approved by bob and carol; completed." in bob.locator("#detail-live").inner_text()
    status, finished = site.api("alice", "GET", f"/actions/{action['id']}")
    assert finished["status"] == "completed"
    assert bob.console_errors == [] and carol.console_errors == []  # nothing blocked by the CSP, no script errors


def test_it_refuses_what_a_reviewer_must_not_do(browser, start_site):
    site = start_site(users=USERS)
    _, own = site.api("alice", "POST", "/actions", HIGH)

    # alice may not decide her own action: the page says why, and the server refuses anyway
    alice = log_in(browser, site, "alice", f"/approvals/{own['id']}/")
    assert "You requested this action, so another reviewer must decide it." in alice.inner_text("#decision")
    assert alice.locator("#decision button[value=approve]").count() == 0
    token = alice.evaluate("() => document.cookie.match(/csrftoken=([^;]+)/)[1]")
    forced = alice.request.post(
        f"{site.url}/approvals/{own['id']}/decide/",
        form={"decision": "approve", "payload_hash": own["payload_hash"]},
        headers={"X-CSRFToken": token, "Referer": f"{site.url}/approvals/"},
    )
    assert forced.status == 403

    # a POST without the CSRF token is refused
    bob = log_in(browser, site, "bob", f"/approvals/{own['id']}/")
    no_token = bob.request.post(
        f"{site.url}/approvals/{own['id']}/decide/",
        form={"decision": "approve", "payload_hash": own["payload_hash"]},
        headers={"Referer": f"{site.url}/approvals/"},
    )
    assert no_token.status == 403

    # reject without a reason is refused, with the reason asked for
    bob.click("button[value=reject]")
    bob.get_by_text("say why you reject it").wait_for()
    _, still = site.api("alice", "GET", f"/actions/{own['id']}")
    assert still["status"] == "pending"

    # from the queue, r asks for the reason in a dialog and will not send an empty one
    bob.goto(f"{site.url}/approvals/")
    bob.wait_for_selector("#live-state.ok")
    bob.keyboard.press("j")
    bob.keyboard.press("r")
    bob.click("#reject-dialog button[value=reject]")
    assert bob.locator("[data-reject-error]").is_visible()
    bob.fill("#reject-reason", "keep the draft")
    bob.click("#reject-dialog button[value=reject]")
    row(bob, own["id"]).wait_for(state="detached")
    _, rejected = site.api("alice", "GET", f"/actions/{own['id']}")
    assert rejected["status"] == "rejected"
    assert rejected["approvals"][0]["reason"] == "keep the draft"


def test_it_stops_the_page_and_socket_after_logout(browser, start_site):
    site = start_site(users=USERS)
    carol = log_in(browser, site, "carol")
    carol.wait_for_selector("#live-state.ok")
    other_tab = carol.context.new_page()
    other_tab.goto(f"{site.url}/approvals/")
    other_tab.click(".logout button")
    # this tab's own socket closes too, so it may reload into the login page with ?next=
    other_tab.wait_for_url(re.compile(r".*/accounts/login/.*"))
    # the first tab's socket is closed by the server and the page follows to the login form
    carol.wait_for_url(re.compile(r".*/accounts/login/.*"))
    _, action = site.api("alice", "POST", "/actions", HIGH)
    carol.goto(f"{site.url}/approvals/{action['id']}/")
    assert "/accounts/login/" in carol.url


@pytest.mark.parametrize("channel_layer", ["database", "redis"])
def test_it_shows_a_status_change_made_by_a_worker_process(browser, start_site, channel_layer):
    site = start_site(users=USERS, channel_layer=channel_layer)
    _, action = site.api("alice", "POST", "/actions", CRITICAL)
    bob = log_in(browser, site, "bob", f"/approvals/{action['id']}/")
    bob.wait_for_selector("#live-state.ok")
    for reviewer in ("carol", "dave"):
        status, _ = site.api(reviewer, "POST", f"/actions/{action['id']}/approve", {"approved": True})
        assert status == 200
    # approved in the web process; started and completed in the worker process
    bob.locator("#detail-live [data-status]").filter(has_text="completed").wait_for()
    timeline = bob.locator("#detail-live .timeline").inner_text()
    assert "action.started" in timeline and "action.completed" in timeline


def test_it_reconnects_and_resyncs_after_the_server_restarts(browser, start_site):
    site = start_site(users=USERS)
    bob = log_in(browser, site, "bob")
    bob.wait_for_selector("#live-state.ok")
    site.stop_web()
    bob.wait_for_selector("#live-state:not(.ok)")
    # while the web server is down another process holds an action: no socket could hear of it
    action_id = site.run(
        "from django.contrib.auth import get_user_model\n"
        "from approvals.services import action_create\n"
        "alice = get_user_model().objects.get(username='alice')\n"
        f"print(action_create(user=alice, **{HIGH!r}).id)\n"
    ).strip()
    site.start_web()
    bob.wait_for_selector("#live-state.ok", timeout=20_000)
    row(bob, action_id).wait_for(timeout=10_000)
    assert "delete reports/q3-draft.md" in row(bob, action_id).inner_text()
