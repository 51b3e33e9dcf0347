"""axe-core finds nothing wrong on any page a role can open: requester, reviewer, auditor, staff,
and the login page for everyone not signed in (light and dark colour schemes alike)."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.e2e.conftest import REVIEWERS, log_in

USERS = {"alice": [], "bob": REVIEWERS, "dave": ["auditors"], "sam": []}
DELETE = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "notes/gone.txt"}}
CRITICAL = {"action_type": "config_change", "parameters": {"key": "quorum_critical", "value": 3}}
WRITE = {"action_type": "file_operation", "parameters": {"operation": "write", "path": "notes/n.txt", "content": "x"}}
# What each role can open; `{action}` is a held action alice requested.
PAGES = {
    "alice": ["/", "/approvals/mine/", "/approvals/{action}/", "/chat/", "/preferences/"],
    "bob": ["/approvals/", "/approvals/{action}/", "/approvals/mine/", "/approvals/rules/", "/chat/", "/preferences/"],
    "dave": ["/", "/audit/", "/audit/actions/{action}/", "/approvals/{action}/", "/approvals/rules/", "/preferences/"],
    "sam": [
        "/",
        "/status/",
        "/approvals/",
        "/audit/",
        "/approvals/rules/",
        "/approvals/rules/new/{action}/",
        "/preferences/",
    ],
}
AXE = Axe()


def violations(page) -> str:
    """axe-core's report of the page as it stands, empty when it found nothing."""
    results = AXE.run(page)
    assert results.response["passes"], "axe-core checked nothing on this page"
    return results.generate_report() if results.violations_count else ""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_it_finds_no_accessibility_violations_on_any_page_of_any_role(browser, start_site, scheme):
    site = start_site(users=USERS)
    site.run(
        "from django.contrib.auth.models import User\n"
        "User.objects.filter(username='sam').update(is_staff=True, is_superuser=True)\n"
    )
    _, held = site.api("alice", "POST", "/actions", DELETE)
    site.api("alice", "POST", "/actions", CRITICAL)
    site.api("alice", "POST", "/actions", WRITE)
    found = {}

    login = browser.new_context(color_scheme=scheme).new_page()
    login.goto(f"{site.url}/accounts/login/")
    found["anonymous /accounts/login/"] = violations(login)
    login.context.close()

    for user, paths in PAGES.items():
        page = log_in(browser, site, user, "/preferences/")
        page.emulate_media(color_scheme=scheme)
        for path in paths:
            page.goto(site.url + path.format(action=held["id"]))
            page.wait_for_load_state("networkidle")
            found[f"{user} {path}"] = violations(page)
        page.context.close()

    bob = log_in(browser, site, "bob")
    bob.emulate_media(color_scheme=scheme)
    bob.wait_for_selector("#live-state.ok")
    # the second steps, open: one irreversible row by `a`, then a selection
    bob.locator(f"#action-{held['id']} .badge").first.click()
    bob.keyboard.press("a")
    bob.locator("#approve-dialog [data-confirm-approve]").wait_for()
    found["bob queue: approve dialog"] = violations(bob)
    bob.locator("#approve-dialog [data-confirm-cancel]").click()
    bob.check("#pick-all")
    bob.click("#bulk-form button[value=approve]")
    bob.locator("#bulk-approve-dialog [data-confirm-approve]").wait_for()
    found["bob queue: bulk approve dialog"] = violations(bob)

    failing = {where: report for where, report in found.items() if report}
    assert not failing, "\n\n".join(f"== {where}\n{report}" for where, report in failing.items())


def test_it_reports_what_axe_core_finds(browser):
    page = browser.new_page()
    page.set_content('<html lang="en"><title>t</title><body><main><img src="a.png"><input></main></body></html>')
    report = violations(page)
    assert "image-alt" in report and "label" in report
    page.close()
