"""Staff watch the status page in a real browser: live figures, polled by htmx, nothing blocked by the CSP."""

from __future__ import annotations

from tests.e2e.conftest import REVIEWERS, log_in

HIGH = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "reports/old.md"}}


def test_it_shows_staff_the_live_state_of_the_system(browser, start_site):
    site = start_site(users={"alice": [], "sam": REVIEWERS})
    site.run("from django.contrib.auth.models import User\nUser.objects.filter(username='sam').update(is_staff=True)")
    page = log_in(browser, site, "sam", path="/status/")

    assert page.locator("nav a[aria-current=page]").inner_text() == "Status"
    page.get_by_text("1 alive").wait_for(timeout=20_000)  # the site's worker reports its heartbeat
    assert page.locator("#status-llm + p.state").inner_text().lower() in ("reachable", "unreachable")
    assert "Waiting for review" in page.inner_text("#status-panel")

    # a held action shows up on a later poll, without reloading the page
    status, _ = site.api("alice", "POST", "/actions", HIGH)
    assert status == 201
    page.locator("#status-panel .badge-high", has_text="1 high").wait_for(timeout=15_000)
    assert page.console_errors == []
