"""What POST /api/actions accepts as callback_url and callback_state, and where they show."""

from __future__ import annotations

import pytest
from django.test import Client

from approvals.models import Action
from audit.models import AuditEntry
from tests.factories import HIGH_ACTION

SECRET = "test-callback-secret"
HOOKS = "https://agent.example/hooks"


@pytest.fixture(autouse=True)
def callbacks_on(settings):
    settings.ACTIONHUB_CALLBACK_SECRET = SECRET
    settings.ACTIONHUB_CALLBACK_ALLOWLIST = [HOOKS]


def _submit(client, **extra):
    return client.post("/actions", {**HIGH_ACTION, **extra})


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://agent.example/hooksmith", "is not under any ACTIONHUB_CALLBACK_ALLOWLIST entry"),
        ("https://agent.example.evil/hooks", "is not under any ACTIONHUB_CALLBACK_ALLOWLIST entry"),
        ("https://agent.example/hooks/../admin", "is not under any ACTIONHUB_CALLBACK_ALLOWLIST entry"),
        ("http://agent.example/hooks", "is not under any ACTIONHUB_CALLBACK_ALLOWLIST entry"),
        ("ftp://agent.example/hooks", "must be an http or https URL"),
        ("https://user:pw@agent.example/hooks", "must not carry a user name or password; send credentials in headers"),
        ("not a url", "must not contain spaces or control characters"),
        ("https://agent.example/hooks/" + "a" * 2000, "must be a URL string of at most 2000 characters"),
    ],
)
def test_it_refuses_a_callback_url_off_the_allowlist_or_malformed(alice, api_as, url, message):
    response = _submit(api_as(alice), callback_url=url)
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {"callback_url": message}
    assert Action.objects.count() == 0


def test_it_refuses_a_callback_url_that_is_not_a_string(alice, api_as):
    response = _submit(api_as(alice), callback_url=42)
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["body.callback_url"]


def test_it_refuses_a_callback_url_while_no_secret_is_configured(alice, api_as, settings):
    settings.ACTIONHUB_CALLBACK_SECRET = None
    response = _submit(api_as(alice), callback_url=f"{HOOKS}/a")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "callback_url": "callbacks are off: ACTIONHUB_CALLBACK_SECRET is not configured"
    }


def test_it_refuses_callback_state_over_4_kb_of_canonical_json(alice, api_as):
    at_limit = {"s": "x" * (4096 - len('{"s":""}'))}
    assert _submit(api_as(alice), callback_url=f"{HOOKS}/a", callback_state=at_limit).status_code == 201
    over = {"s": "x" * (4097 - len('{"s":""}'))}
    response = _submit(api_as(alice), callback_url=f"{HOOKS}/a", callback_state=over)
    assert response.status_code == 400
    assert response.json()["errors"] == {"callback_state": "must be at most 4096 bytes as canonical JSON"}


def test_it_refuses_callback_state_without_a_callback_url(alice, api_as):
    response = _submit(api_as(alice), callback_state={"a": 1})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["callback_state"]


def test_it_keeps_the_callback_out_of_the_payload_hash_and_stores_the_normal_url(alice, api_as):
    plain = _submit(api_as(alice)).json()
    with_callback = _submit(
        api_as(alice), callback_url="HTTPS://Agent.Example:443/hooks/./a", callback_state=[1]
    ).json()
    assert with_callback["payload_hash"] == plain["payload_hash"]
    action = Action.objects.get(id=with_callback["id"])
    assert (action.callback_url, action.callback_state) == (f"{HOOKS}/a", [1])
    created = AuditEntry.objects.get(action_id=action.id, event="action.created")
    assert created.data["callback_to"] == "https://agent.example"
    assert "callback_state" not in created.data


def test_it_shows_the_callback_url_and_state_on_the_detail_page_but_not_the_secret(alice, bob, api_as):
    created = _submit(api_as(alice), callback_url=f"{HOOKS}/a?run=7", callback_state={"thread": "t-9"})
    client = Client()
    client.force_login(bob)
    page = client.get(f"/approvals/{created.json()['id']}/")
    assert page.status_code == 200
    assert f"{HOOKS}/a?run=7" in page.text
    assert "t-9" in page.text
    assert SECRET not in page.text
