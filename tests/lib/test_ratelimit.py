from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.test import Client, RequestFactory

from approvals.models import Status
from lib import ratelimit
from tests.factories import MEDIUM_ACTION, make_action


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


def test_it_asks_the_shared_counter_once_a_slice_of_a_large_budget(alice, api_as, settings, monkeypatch):
    settings.ACTIONHUB_RATE_LIMIT = "1000/m"  # slices of 10
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 7200.0))  # one window throughout
    asked = []
    count = ratelimit._count
    monkeypatch.setattr(ratelimit, "_count", lambda key, **kwargs: asked.append(kwargs) or count(key, **kwargs))
    client = api_as(alice)
    answers = [client.post("/actions", MEDIUM_ACTION).status_code for _ in range(25)]
    assert answers == [201] * 25
    assert [ask["amount"] for ask in asked] == [10, 10, 10]


def test_it_admits_no_more_than_the_budget_however_many_processes_share_it(alice, settings, monkeypatch):
    settings.ACTIONHUB_RATE_LIMIT = "300/h"  # slices of 3
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 7200.0))  # one window throughout
    request = RequestFactory().post("/api/actions")
    request.user = alice
    processes = [{}, {}, {}, {}]  # each process keeps its own slices
    admitted = 0
    for attempt in range(400):
        monkeypatch.setattr(ratelimit, "_slices", processes[attempt % len(processes)])
        try:
            ratelimit.check_rate_limit(request)
            admitted += 1
        except ratelimit.RateLimited as refused:
            assert refused.retry_after == 3600
    # Never past the budget; at most a slice's unused rest is lost per process (2 of 3 each).
    assert 300 - 2 * len(processes) <= admitted <= 300
    monkeypatch.setattr(ratelimit, "_slices", {})
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.check_rate_limit(request)


def test_it_counts_each_post_against_a_small_budget_as_exactly_as_before(alice, api_as, settings, monkeypatch):
    settings.ACTIONHUB_RATE_LIMIT = "99/m"  # under 100: a slice is one POST
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 7200.0))  # one window throughout
    client = api_as(alice)
    answers = [client.post("/actions", MEDIUM_ACTION).status_code for _ in range(100)]
    assert answers == [201] * 99 + [429]
    assert not ratelimit._slices
