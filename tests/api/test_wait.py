"""GET /api/actions/{id}/wait: answers as soon as the action is decided or finished, woken by the
same events as the live pages, or after `timeout` seconds with Retry-After."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import AsyncClient

from approvals.kinds.base import Classification, DecideOnlyKind, Errors, check_keys, check_string
from approvals.models import Action, SecurityLevel, Status
from approvals.services import action_cancel, action_decide, action_edit, action_expire
from review.bulk import BulkItem, actions_decide_bulk
from tests.factories import HIGH_ACTION, MEDIUM_ACTION, make_action, make_token, make_user

pytestmark = pytest.mark.django_db(transaction=True)


class AskKind(DecideOnlyKind):
    """A decide-only kind like tool_call: the requester runs it once it is decided."""

    name = "ask"
    label = "Ask"

    def schema(self, *, skill_id: str | None = None) -> dict[str, Any]:
        return {"type": "object", "properties": {"question": {"type": "string"}}, "required": ["question"]}

    def validate(self, parameters: dict[str, Any], errors: Errors, *, skill_id: str | None = None) -> None:
        check_keys(parameters, errors, required=("question",))
        check_string(parameters, "question", errors, max_length=50)

    def classify(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Classification:
        return Classification(SecurityLevel.HIGH, ["a question for a human"])


@pytest.fixture(autouse=True)
def _close_thread_connections():
    yield
    connections.close_all()


@pytest.fixture
def cast(transactional_db) -> dict[str, Any]:
    alice = make_user("alice")
    bob = make_user("bob", "reviewers")
    eve = make_user("eve")
    return {"alice": alice, "bob": bob, "eve": eve, "token": make_token(alice), "eve_token": make_token(eve)}


async def _wait(token: str, action_id: Any, **params: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = await AsyncClient().get(
        f"/api/actions/{action_id}/wait", params, headers={"Authorization": f"Bearer {token}"}
    )
    return response, time.monotonic() - started


async def _later(delay: float, function: Any, **kwargs: Any) -> Any:
    await asyncio.sleep(delay)
    return await sync_to_async(function)(**kwargs)


async def test_it_answers_at_once_when_the_condition_already_holds(cast):
    approved = await sync_to_async(make_action)(cast["alice"], MEDIUM_ACTION)
    response, elapsed = await _wait(cast["token"], approved.id, until="decided", timeout=10)
    assert response.status_code == 200 and "Retry-After" not in response
    assert response.json()["status"] == Status.APPROVED and elapsed < 2
    held = await sync_to_async(make_action)(cast["alice"], HIGH_ACTION)
    await sync_to_async(action_decide)(action_id=held.id, user=cast["bob"], approved=False, reason="no")
    response, elapsed = await _wait(cast["token"], held.id, timeout=10)  # rejected: finished too
    assert response.status_code == 200 and response.json()["decision"]["outcome"] == "rejected" and elapsed < 2


async def test_it_answers_the_action_as_it_is_with_retry_after_when_time_is_up(cast):
    action = await sync_to_async(make_action)(cast["alice"], HIGH_ACTION)
    response, elapsed = await _wait(cast["token"], action.id, timeout=0.5)
    assert response.status_code == 200 and response["Retry-After"] == "1"
    assert response.json()["status"] == Status.PENDING and response.json()["id"] == str(action.id)
    assert 0.5 <= elapsed < 3
    response, elapsed = await _wait(cast["token"], action.id, timeout=0)
    assert response.status_code == 200 and response["Retry-After"] == "1" and elapsed < 1


@pytest.mark.parametrize(
    ("decide", "status"),
    [
        (lambda a, bob: action_decide(action_id=a.id, user=bob, approved=True, reason=""), Status.APPROVED),
        (lambda a, bob: action_decide(action_id=a.id, user=bob, approved=False, reason="no"), Status.REJECTED),
        (lambda a, bob: action_expire(action_id=a.id, now=a.expires_at + timedelta(seconds=1)), Status.EXPIRED),
        (lambda a, bob: action_cancel(action_id=a.id, user=a.requested_by), Status.CANCELLED),
    ],
    ids=["approve", "reject", "expiry", "cancel"],
)
async def test_it_wakes_when_the_action_is_decided(cast, decide, status):
    action = await sync_to_async(make_action)(cast["alice"], HIGH_ACTION)
    deciding = asyncio.create_task(_later(0.5, decide, a=action, bob=cast["bob"]))
    response, elapsed = await _wait(cast["token"], action.id, until="decided", timeout=20)
    await deciding
    assert response.status_code == 200 and "Retry-After" not in response
    assert response.json()["status"] == status
    assert 0.5 <= elapsed < 5  # woken by the change, long before the timeout


async def test_it_keeps_waiting_through_an_edit_that_keeps_the_action_held(cast):
    action = await sync_to_async(make_action)(cast["alice"], HIGH_ACTION)
    edited = {"operation": "delete", "path": "notes/older.txt"}
    editing = asyncio.create_task(_later(0.3, action_edit, action_id=action.id, user=cast["bob"], parameters=edited))
    response, elapsed = await _wait(cast["token"], action.id, until="decided", timeout=2)
    await editing
    assert response.status_code == 200 and response["Retry-After"] == "1" and elapsed >= 2
    assert response.json()["status"] == Status.PENDING and response.json()["parameters"] == edited


async def test_it_answers_when_an_edit_lowers_the_action_so_the_policy_approves_it(cast):
    action = await sync_to_async(make_action)(cast["alice"], HIGH_ACTION)
    edited = {"operation": "list", "path": "notes"}
    editing = asyncio.create_task(_later(0.3, action_edit, action_id=action.id, user=cast["bob"], parameters=edited))
    response, elapsed = await _wait(cast["token"], action.id, until="decided", timeout=20)
    await editing
    body = response.json()
    assert response.status_code == 200 and "Retry-After" not in response and elapsed < 5
    assert body["status"] == Status.APPROVED and body["parameters"] == edited and body["decision"]["edited"]


async def test_it_waits_for_a_decision_of_a_decide_only_kind_and_until_it_finished_otherwise(cast, settings):
    settings.ACTIONHUB_ACTION_KINDS = [*settings.ACTIONHUB_ACTION_KINDS, f"{__name__}.AskKind"]
    ask = await sync_to_async(make_action)(cast["alice"], {"action_type": "ask", "parameters": {"question": "ok?"}})
    deciding = asyncio.create_task(
        _later(0.3, action_decide, action_id=ask.id, user=cast["bob"], approved=True, reason="")
    )
    response, elapsed = await _wait(cast["token"], ask.id, timeout=20)  # default: decided
    await deciding
    assert response.status_code == 200 and response.json()["status"] == Status.APPROVED and elapsed < 5
    approved = await sync_to_async(make_action)(cast["alice"], MEDIUM_ACTION)  # nothing runs it here
    response, _ = await _wait(cast["token"], approved.id, timeout=0.3)  # default: finished
    assert response["Retry-After"] == "1" and response.json()["status"] == Status.APPROVED


async def test_it_wakes_every_waiter_of_a_bulk_decision(cast):
    actions = [await sync_to_async(make_action)(cast["alice"], HIGH_ACTION) for _ in range(3)]
    items = [BulkItem(action_id=action.id, approved=True, reason="", payload_hash=None) for action in actions]
    deciding = asyncio.create_task(_later(0.5, actions_decide_bulk, user=cast["bob"], items=items, confirmed=True))
    waits = await asyncio.gather(*(_wait(cast["token"], a.id, until="decided", timeout=20) for a in actions))
    assert [result.status for result in await deciding] == [Status.APPROVED] * 3
    assert [response.json()["status"] for response, _ in waits] == [Status.APPROVED] * 3
    assert all(elapsed < 5 for _, elapsed in waits)


async def test_it_answers_a_browser_session(cast):
    action = await sync_to_async(make_action)(cast["alice"], MEDIUM_ACTION)
    client = AsyncClient()
    await client.aforce_login(cast["alice"])
    response = await client.get(f"/api/actions/{action.id}/wait", {"until": "decided"})
    assert response.status_code == 200 and response.json()["id"] == str(action.id)


@pytest.mark.parametrize(
    "params",
    [
        {"timeout": "56"},
        {"timeout": "-1"},
        {"timeout": "soon"},
        {"timeout": "nan"},
        {"timeout": "inf"},
        {"timeout": ""},
    ],
)
async def test_it_refuses_a_bad_timeout(cast, params):
    action = await sync_to_async(make_action)(cast["alice"], HIGH_ACTION)
    response, _ = await _wait(cast["token"], action.id, **params)
    assert (
        response.status_code == 400 and "timeout must be a number of seconds from 0 to 55" in response.json()["detail"]
    )


@pytest.mark.parametrize("until", ["", "approved", "DECIDED"])
async def test_it_refuses_an_unknown_until(cast, until):
    action = await sync_to_async(make_action)(cast["alice"], HIGH_ACTION)
    response, _ = await _wait(cast["token"], action.id, until=until)
    assert response.status_code == 400 and response.json()["detail"] == "until must be 'decided' or 'finished'"


async def test_it_hides_an_action_the_user_may_not_see_and_refuses_anonymous(cast):
    action = await sync_to_async(make_action)(cast["alice"], HIGH_ACTION)
    response, elapsed = await _wait(cast["eve_token"], action.id, timeout=5)
    assert response.status_code == 404 and response.json() == {"detail": "action not found"} and elapsed < 2
    response, _ = await _wait(cast["token"], "not-a-uuid", timeout=1)
    assert response.status_code == 400
    response = await AsyncClient().get(f"/api/actions/{action.id}/wait")
    assert response.status_code == 401
    response, _ = await _wait("wrong-token", action.id, timeout=1)
    assert response.status_code == 401
    assert await Action.objects.filter(id=action.id, status=Status.PENDING).aexists()


def test_it_documents_the_wait_and_its_retry_after(client, alice):
    client.force_login(alice)
    schema = client.get("/api/openapi.json").json()
    operation = schema["paths"]["/api/actions/{action_id}/wait"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} == {"action_id", "timeout", "until"}
    assert "Retry-After" in operation["responses"]["200"]["headers"]
