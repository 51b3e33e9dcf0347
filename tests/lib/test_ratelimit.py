from __future__ import annotations

from django.test import Client

from approvals.models import Status
from tests.factories import make_action


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_answers_page_posts_past_the_limit_with_429_and_retry_after(alice, bob, carol, settings):
    settings.ACTIONHUB_RATE_LIMIT = "2/m"
    actions = [make_action(alice) for _ in range(3)]
    client = _logged_in(bob)
    decide = [
        client.post(
            f"/approvals/{action.id}/decide/",
            {"decision": "reject", "reason": "no", "payload_hash": action.payload_hash},
        )
        for action in actions
    ]
    assert all(response.status_code < 400 for response in decide[:2])
    assert decide[2].status_code == 429
    assert int(decide[2]["Retry-After"]) >= 1
    assert b"Too many requests" in decide[2].content
    actions[2].refresh_from_db()
    assert actions[2].status == Status.PENDING
    # Another reviewer has a budget of their own.
    other = _logged_in(carol).post(
        f"/approvals/{actions[2].id}/decide/",
        {"decision": "reject", "reason": "no", "payload_hash": actions[2].payload_hash},
    )
    assert other.status_code < 400


def test_it_counts_api_and_page_posts_against_one_budget(alice, bob, api_as, settings):
    settings.ACTIONHUB_RATE_LIMIT = "2/m"
    action = make_action(alice)
    api = api_as(bob)
    assert api.post(f"/actions/{action.id}/approve", {"approved": False, "reason": "a"}).status_code != 429
    assert api.post("/actions", {"action_type": "chat", "parameters": {"message": "hi"}}).status_code != 429
    page = _logged_in(bob).post(f"/approvals/{action.id}/decide/", {"decision": "reject", "reason": "no"})
    assert page.status_code == 429


def test_it_never_limits_signing_out(bob, settings):
    settings.ACTIONHUB_RATE_LIMIT = "1/m"
    client = _logged_in(bob)
    client.post("/approvals/preferences/alert-sound/", {"sound": "on"})
    assert client.post("/accounts/logout/").status_code == 302
