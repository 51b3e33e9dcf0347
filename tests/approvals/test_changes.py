"""The detail page shows exactly what will change: an api_call's request as it will be sent (secrets
masked), a config change's old and new value, and the full parameters of everything."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from approvals.models import Action
from tests.factories import CRITICAL_ACTION, make_action

API = "https://api.example.org/v1/"


@pytest.fixture
def allowlist(settings):
    settings.ACTIONHUB_API_ALLOWLIST = [API]


def _detail(user, action) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(f"/approvals/{action.id}/")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_it_shows_an_api_call_as_it_will_be_sent_with_secrets_masked(alice, bob, allowlist):
    token = "sk-live-0123456789abcdef"
    action = make_action(
        alice,
        {
            "action_type": "api_call",
            "parameters": {
                "method": "POST",
                "url": f"{API}tickets?team=ops",
                "headers": {"Authorization": f"Bearer {token}", "X-Api-Key": "k-999", "X-Trace": "abc"},
                "json": {"title": "Disk full", "priority": 1},
            },
        },
    )
    page = _detail(bob, action)
    request = page.split("Request as it will be sent", 1)[1].split("</pre>", 1)[0]

    assert f"POST {API}tickets?team=ops" in request
    assert "Authorization: Bearer •••••• (hidden, 31 characters)" in request
    assert "X-Api-Key: •••••• (hidden, 5 characters)" in request
    assert "X-Trace: abc" in request
    assert "Content-Type: application/json" in request
    assert "Host: api.example.org" in request
    assert '"priority": 1' in request and '"title": "Disk full"' in request
    assert token not in request and "k-999" not in request
    assert "irreversible" in page  # a POST


def test_it_shows_a_config_change_old_and_new_value(alice, bob):
    action = make_action(alice, {"action_type": "config_change", "parameters": {"key": "expiry_high", "value": "2h"}})
    facts = _detail(bob, action).split("Value now", 1)[1].split("Payload hash", 1)[0]
    old, new = facts.split("New value", 1)
    assert "1d" in old and "86400" not in old  # the stored 86400 s, in the unit a person reads
    assert "2h" in new and '"2h"' not in new


def test_it_loads_no_diff_for_actions_that_write_no_file(alice, bob):
    action = make_action(alice, CRITICAL_ACTION)
    client = Client()
    client.force_login(bob)
    assert client.get(f"/approvals/{action.id}/changes/").status_code == 404
    assert "What the write changes" not in _detail(bob, action)


def test_it_says_so_when_an_api_call_cannot_be_built(alice, bob, allowlist):
    action = make_action(alice, {"action_type": "api_call", "parameters": {"method": "GET", "url": f"{API}x"}})
    Action.objects.filter(id=action.id).update(parameters={"method": "GET", "url": "http://[::1"})
    page = _detail(bob, action)
    assert "The request cannot be built" in page


def test_it_shows_the_normal_form_of_the_url_it_will_send(alice, bob, allowlist):
    action = make_action(
        alice,
        {"action_type": "api_call", "parameters": {"method": "GET", "url": "HTTPS://API.example.org:443/v1/a/../b"}},
    )
    assert action.parameters["url"] == f"{API}b"
    # Even a URL stored before URLs were normalised is shown as run_api_call would send it.
    Action.objects.filter(id=action.id).update(parameters={"method": "GET", "url": "https://api.example.org/v1/./%63"})
    request = _detail(bob, action).split("Request as it will be sent", 1)[1].split("</pre>", 1)[0]
    assert f"GET {API}c\n" in request
