"""Desktop alerts on the queue in a real browser: enabling notifications, one per new action with the
tab title counting, a click that opens the action, and the sound toggle remembered on the server."""

from __future__ import annotations

from tests.e2e.conftest import REVIEWERS, log_in

HIGH = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "reports/q3-draft.md"}}
CRITICAL = {"action_type": "config_change", "parameters": {"key": "quorum_critical", "value": 2}}
USERS = {"alice": [], "bob": REVIEWERS, "carol": REVIEWERS}

# Headless Chromium may not display notifications: record each one the page creates, and otherwise
# keep the browser's own permission state and prompt.
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__notifications = [];
  function Recording(title, options) {
    this.title = title;
    this.body = (options || {}).body;
    this.tag = (options || {}).tag;
    this.onclick = null;
    this.close = function () {};
    window.__notifications.push(this);
  }
  Object.defineProperty(Recording, "permission", { get: () => Real.permission });
  Recording.requestPermission = function () { return Real.requestPermission(); };
  window.Notification = Recording;
})();
"""


def test_it_alerts_a_reviewer_who_enabled_notifications_of_a_new_action(browser, start_site):
    site = start_site(users=USERS)
    bob = log_in(browser, site, "bob")
    bob.context.add_init_script(RECORD_NOTIFICATIONS)
    bob.reload()
    bob.wait_for_selector("#live-state.ok")

    enable = bob.locator("[data-alerts-enable]")
    enable.wait_for()
    bob.context.grant_permissions(["notifications"], origin=site.url)
    enable.click()
    bob.get_by_text("Desktop alerts are on for new actions.").wait_for()
    assert enable.is_hidden()

    status, action = site.api("alice", "POST", "/actions", HIGH)
    assert status == 201 and action["status"] == "pending"
    bob.locator(f"#action-{action['id']}.row").wait_for()
    bob.wait_for_function("() => window.__notifications.length === 1")
    notification = bob.evaluate("() => ({title: __notifications[0].title, body: __notifications[0].body})")
    assert notification["title"] == "HIGH File operation waits for review"
    assert "delete reports/q3-draft.md in workspace default" in notification["body"]
    assert "requested by alice" in notification["body"]
    assert bob.title() == "(1) Approvals · ActionHub"

    # a second new action is announced; a row that only changes, or bob's own action, is not
    status, critical = site.api("alice", "POST", "/actions", CRITICAL)
    bob.wait_for_function("() => window.__notifications.length === 2")
    bob.wait_for_function("() => document.title.startsWith('(2) Approvals')")
    status, _ = site.api("carol", "POST", f"/actions/{critical['id']}/approve", {"approved": True})
    assert status == 200
    bob.wait_for_function("id => document.getElementById('action-' + id).innerText.includes('1/2')", arg=critical["id"])
    status, own = site.api("bob", "POST", "/actions", {**HIGH, "parameters": {**HIGH["parameters"], "path": "b.md"}})
    bob.locator(f"#action-{own['id']}.row.own").wait_for()
    assert bob.evaluate("() => window.__notifications.length") == 2

    bob.evaluate("() => window.__notifications[0].onclick()")
    bob.wait_for_url(f"{site.url}/approvals/{action['id']}/")
    assert bob.console_errors == []


def test_it_remembers_the_sound_toggle_across_reloads(browser, start_site):
    site = start_site(users=USERS)
    bob = log_in(browser, site, "bob")
    sound = bob.locator("#alert-sound")
    assert not sound.is_checked()  # off by default

    with bob.expect_response(lambda response: "/approvals/preferences/alert-sound/" in response.url) as answer:
        sound.check()
    assert answer.value.status == 200
    bob.reload()
    assert bob.locator("#alert-sound").is_checked()

    with bob.expect_response(lambda response: "/approvals/preferences/alert-sound/" in response.url):
        bob.locator("#alert-sound").uncheck()
    bob.reload()
    assert not bob.locator("#alert-sound").is_checked()
    assert bob.console_errors == []
