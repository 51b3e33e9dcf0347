"""A reviewer follows a one-tap link from a notification in a real browser: log in, back to the
confirmation page, decide there, and the link is spent."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tests.e2e.site import PASSWORD

USERS = {"alice": [], "bob": ["reviewers"]}
WRITE = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "reports/q3-draft.md"}}

SIGN = """
from django.contrib.auth import get_user_model
from review.links import decision_links
from approvals.models import Action
action = Action.objects.get(id="{action_id}")
bob = get_user_model().objects.get(username="bob")
print(decision_links(action=action, channel="email", user_id=bob.pk)["approve"])
"""


def test_it_logs_in_confirms_and_decides_once_through_a_link(browser, start_site):
    site = start_site(users=USERS)
    status, action = site.api("alice", "POST", "/actions", WRITE)
    assert status == 201 and action["status"] == "pending"
    link = urlsplit(site.run(SIGN.format(action_id=action["id"])).strip()).path

    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{site.url}{link}")
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/approvals/link/"))
    page.fill("#id_username", "bob")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}{link}")

    assert page.locator("h2#decision-title").inner_text() == "Approve this action?"
    assert '"path": "reports/q3-draft.md"' in page.locator("pre.json").inner_text()
    assert action["payload_hash"] in page.inner_text("dl.facts")
    assert "irreversible" in page.inner_text("dl.facts")
    _, still = site.api("alice", "GET", f"/actions/{action['id']}")
    assert still["status"] == "pending"  # opening the link decided nothing

    page.click("button.primary")
    page.wait_for_url(f"{site.url}/approvals/{action['id']}/")
    page.get_by_text("Approved: it runs now.").wait_for()
    _, decided = site.api("alice", "GET", f"/actions/{action['id']}")
    assert decided["approvals"][0]["user"] == "bob"

    response = page.goto(f"{site.url}{link}")
    assert response.status == 409
    assert "This link was already used" in page.inner_text("main")
    assert errors == []
    context.close()
