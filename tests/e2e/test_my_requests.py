"""A requester follows their own actions in a real browser: My requests, live status, no 403 in the nav."""

from __future__ import annotations

from tests.e2e.conftest import log_in

USERS = {"alice": [], "bob": ["reviewers"]}
DELETE = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "notes/old.txt"}}


def test_it_shows_a_requester_their_actions_live_and_no_link_that_answers_403(browser, start_site, tmp_path):
    site = start_site(users=USERS)
    _, held = site.api("alice", "POST", "/actions", DELETE)
    page = log_in(browser, site, "alice", "/approvals/mine/")

    nav = page.locator("nav[aria-label=Main] a")
    hrefs = [nav.nth(index).get_attribute("href") for index in range(nav.count())]
    assert "/approvals/mine/" in hrefs and "/approvals/" not in hrefs
    for href in hrefs:
        response = page.request.get(f"{site.url}{href}")
        assert response.status < 400, (href, response.status)

    row = page.locator(f"#mine-{held['id']}")
    assert row.get_attribute("data-status") == "pending"
    page.locator("#live-state.ok").wait_for()
    page.screenshot(path=str(tmp_path / "my-requests.png"), full_page=True)

    status, _ = site.api("bob", "POST", f"/actions/{held['id']}/approve", {"approved": False, "reason": "not now"})
    assert status == 200
    page.wait_for_function(
        f"() => document.querySelector('#mine-{held['id']}')?.dataset.status === 'rejected'", timeout=10_000
    )

    row.locator("a.title").click()
    page.wait_for_url(f"{site.url}/approvals/{held['id']}/")
    crumb = page.locator(".crumbs a")
    assert crumb.inner_text() == "My requests"
    assert page.locator("form.decide-form").count() == 0
    crumb.click()
    page.wait_for_url(f"{site.url}/approvals/mine/")
    assert page.console_errors == []


def test_it_adds_the_requesters_new_actions_to_my_requests_without_reload(browser, start_site):
    site = start_site(users={**USERS, "erin": []})
    page = log_in(browser, site, "alice", "/approvals/mine/")
    page.locator("#live-state.ok").wait_for()
    assert page.locator("#mine-empty").is_visible()
    page.evaluate("window.notReloaded = true")

    _, theirs = site.api("erin", "POST", "/actions", DELETE)
    _, first = site.api("alice", "POST", "/actions", DELETE)
    _, second = site.api("alice", "POST", "/actions", DELETE)
    row = page.locator(f"#mine-{second['id']}")
    row.wait_for()
    page.locator(f"#mine-{first['id']}").wait_for()
    # newest first, on top; someone else's never shows; the empty note is gone
    ids = page.locator("#mine-list > li.row").evaluate_all("rows => rows.map(row => row.id)")
    assert ids == [f"mine-{second['id']}", f"mine-{first['id']}"]
    assert page.locator(f"#mine-{theirs['id']}").count() == 0
    assert not page.locator("#mine-empty").is_visible()
    assert row.get_attribute("data-status") == "pending"

    # the new row follows its action like the others
    site.api("bob", "POST", f"/actions/{second['id']}/approve", {"approved": False, "reason": "not now"})
    page.wait_for_function(
        f"() => document.querySelector('#mine-{second['id']}')?.dataset.status === 'rejected'", timeout=10_000
    )
    assert page.evaluate("window.notReloaded") is True
    assert page.console_errors == []
