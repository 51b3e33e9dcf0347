"""The client against a live ActionHub: submit, wait, outcome, cancel, errors, require_approval."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from actionhub_client import (
    ActionDenied,
    AsyncClient,
    AuthenticationFailed,
    BadRequest,
    Client,
    ConfigurationError,
    ConnectionFailed,
    PermissionDenied,
    require_approval,
)
from livehub import pending_of


def _client(hub, user: str = "alice") -> Client:
    return Client(hub.url, hub.tokens[user])


def test_it_waits_for_a_reviewers_approval_and_reports_the_outcome(hub, reviewer):
    with _client(hub) as client:
        action = client.submit_tool_call("deploy", {"service": "web"}, agent="test", external_id="tu-1")
        assert action.pending and action.security_level == "high" and action.external_id == "tu-1"
        reviewer(tool="deploy", approve=True, reason="looks fine")

        decided = client.wait(action.id, timeout=20)
        assert decided.approved and decided.status == "approved"
        assert decided.decision.by == ("bob",) and decided.decision.reason == "looks fine"

        done = client.outcome(action.id, ok=True, output="deployed")
        assert done.status == "completed" and done.finished
        # A retry whose first reply was lost finds it reported and answers the same.
        assert client.outcome(action.id, ok=True, output="deployed").status == "completed"


def test_it_sends_one_idempotency_key_so_a_repeat_makes_no_second_action(hub):
    key = f"session-1:{uuid.uuid4()}"
    with _client(hub) as client:
        first = client.submit_tool_call("deploy", {"service": "api"}, idempotency_key=key)
        again = client.submit_tool_call("deploy", {"service": "api"}, idempotency_key=key)
        assert again.id == first.id
        with pytest.raises(BadRequest) as refused:
            client.submit_tool_call("deploy", {"service": "db"}, idempotency_key=key)
        assert refused.value.status == 422 and "Idempotency-Key" in refused.value.detail


def test_it_cancels_a_pending_action_when_the_wait_times_out(hub):
    with _client(hub) as client:
        action = client.submit_tool_call("deploy", {"service": "timeout"})
        waited = client.wait(action.id, timeout=1.5)
    assert waited.status == "cancelled" and waited.denied
    assert waited.decision.outcome == "cancelled"
    assert waited.denial() == "not run: the request was withdrawn before a reviewer decided"
    assert pending_of(hub, tool="deploy") is None or pending_of(hub, tool="deploy")["id"] != action.id


def test_it_leaves_the_action_pending_when_asked_not_to_cancel(hub):
    with _client(hub) as client:
        action = client.submit_tool_call("deploy", {"service": "keep"})
        waited = client.wait(action.id, timeout=0.5, cancel_on_timeout=False)
        assert waited.pending
        assert client.cancel(action.id, reason="done with it").status == "cancelled"


def test_it_returns_a_decision_that_beat_the_cancel(hub):
    with _client(hub) as client:
        action = client.submit_tool_call("deploy", {"service": "race"})
        hub.api("bob", "POST", f"/actions/{action.id}/approve", {"approved": False, "reason": "not today"})
        cancelled = client.cancel(action.id)
    assert cancelled.status == "rejected" and cancelled.denial() == "denied by bob: not today"


def test_it_raises_the_servers_detail_for_refusals(hub):
    with _client(hub) as client:
        with pytest.raises(BadRequest) as bad:
            client.submit("tool_call", {"tool": "Bash"})
        assert bad.value.status == 400 and "input" in str(bad.value.errors)
        action = client.submit_tool_call("deploy", {"service": "other"})
    with _client(hub, "mallory") as stranger, pytest.raises(Exception) as hidden:
        stranger.cancel(action.id)
    assert getattr(hidden.value, "status", None) == 404
    with _client(hub, "bob") as bob, pytest.raises(PermissionDenied):
        bob.cancel(action.id)
    with Client(hub.url, "not-a-token") as wrong, pytest.raises(AuthenticationFailed) as unauthenticated:
        wrong.get(action.id)
    assert unauthenticated.value.detail


def test_it_says_what_configuration_is_missing(monkeypatch):
    monkeypatch.delenv("ACTIONHUB_URL", raising=False)
    monkeypatch.delenv("ACTIONHUB_TOKEN", raising=False)
    monkeypatch.delenv("ACTIONHUB_TOKEN_FILE", raising=False)
    with pytest.raises(ConfigurationError, match="ACTIONHUB_URL"):
        Client()
    with pytest.raises(ConfigurationError, match="ACTIONHUB_TOKEN"):
        Client("http://127.0.0.1:1")
    with pytest.raises(ConfigurationError, match="http"):
        Client("127.0.0.1:8000", "t")


def test_it_reads_the_token_from_a_file(hub, tmp_path, monkeypatch):
    path = tmp_path / "token"
    path.write_text(hub.tokens["alice"] + "\n")
    monkeypatch.delenv("ACTIONHUB_TOKEN", raising=False)
    monkeypatch.setenv("ACTIONHUB_TOKEN_FILE", str(path))
    with Client(hub.url + "/api/") as client:
        assert client.submit_tool_call("Read", {"file_path": "/srv/app/README.md"}).approved


def test_it_fails_closed_when_actionhub_is_unreachable():
    with Client("http://127.0.0.1:9", "t") as client, pytest.raises(ConnectionFailed):
        client.submit_tool_call("deploy", {})


def test_it_retries_as_often_as_asked():
    tries: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        tries.append(request.headers["Idempotency-Key"])
        raise httpx.ConnectError("connection refused")

    for retries, expected in ((0, 1), (1, 2), (2, 3)):
        tries.clear()
        transport = httpx.MockTransport(answer)
        with (
            Client("http://hub.test", "t", retries=retries, transport=transport) as client,
            pytest.raises(ConnectionFailed),
        ):
            client.submit_tool_call("deploy", {})
        assert len(tries) == expected and len(set(tries)) == 1


def test_it_retries_a_submit_under_the_same_key_after_a_lost_reply():
    keys: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        if len(keys) == 1:
            raise httpx.ReadError("connection reset")
        if len(keys) == 2:
            return httpx.Response(503, json={"detail": "restarting"}, headers={"Retry-After": "0"})
        return httpx.Response(201, json={"id": "a1", "status": "pending", "decision": {"outcome": None}})

    with Client("http://hub.test", "t", transport=httpx.MockTransport(answer)) as client:
        assert client.submit("tool_call", {"tool": "x", "input": {}}).pending
    assert len(keys) == 3 and len(set(keys)) == 1


def test_it_polls_again_after_retry_after_until_decided():
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            return httpx.Response(200, json={"id": "a1", "status": "pending"}, headers={"Retry-After": "0"})
        return httpx.Response(200, json={"id": "a1", "status": "rejected", "decision": {"outcome": "rejected"}})

    with Client("http://hub.test", "t", transport=httpx.MockTransport(answer)) as client:
        assert client.wait("a1").denied
    assert [request.url.path for request in calls] == ["/api/actions/a1/wait"] * 3
    assert float(calls[0].url.params["timeout"]) == 55.0


def test_it_runs_an_approved_function_with_the_reviewers_edited_arguments(env, reviewer):
    ran: list[tuple[str, int]] = []

    @require_approval(tool="scale_service")
    def scale(service: str, replicas: int = 3) -> str:
        ran.append((service, replicas))
        return f"{service} at {replicas}"

    reviewer(tool="scale_service", approve=True, edit={"input": {"service": "web", "replicas": 2}})
    assert scale("web", replicas=10) == "web at 2"
    assert ran == [("web", 2)]

    with Client() as client:
        _, page = env.api("alice", "GET", "/actions?mine=1&limit=5")
        reported = next(a for a in page["results"] if a["parameters"]["tool"] == "scale_service")
        assert client.get(reported["id"]).status == "completed"
        assert reported["decision"]["edited"] is True


def test_it_tells_the_model_who_denied_the_call_and_why(env, reviewer):
    ran: list[str] = []

    @require_approval
    def drop_table(name: str) -> str:
        ran.append(name)
        return "dropped"

    reviewer(tool="drop_table", approve=False, reason="production data")
    assert drop_table("users") == "denied by bob: production data"
    assert ran == []


def test_it_raises_on_denial_when_asked(env, reviewer):
    @require_approval(raise_on_deny=True, tool="purge_cache")
    def purge() -> None:
        raise AssertionError("must not run")

    reviewer(tool="purge_cache", approve=False, reason="peak hours")
    with pytest.raises(ActionDenied) as denied:
        purge()
    assert denied.value.message == "denied by bob: peak hours" and denied.value.action.status == "rejected"


def test_it_treats_a_timeout_as_a_denial_and_cancels(env):
    @require_approval(tool="slow_review", timeout=1)
    def slow() -> str:
        return "ran"

    assert slow() == "denied by ActionHub: no reviewer decided within 1 s"
    assert pending_of(env, tool="slow_review") is None


def test_it_reports_a_failure_and_reraises(env, reviewer):
    @require_approval(tool="flaky_job")
    def flaky() -> None:
        raise RuntimeError("disk full")

    reviewer(tool="flaky_job", approve=True)
    with pytest.raises(RuntimeError):
        flaky()
    _, page = env.api("alice", "GET", "/actions?mine=1&limit=5")
    failed = next(a for a in page["results"] if a["parameters"]["tool"] == "flaky_job")
    assert failed["status"] == "failed" and "disk full" in failed["error"]


async def test_it_waits_asynchronously_and_cancels_when_the_task_is_cancelled(env):
    async with AsyncClient() as client:
        action = await client.submit_tool_call("deploy", {"service": "async"})
        task = asyncio.create_task(client.wait(action.id))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await client.get(action.id)).status == "cancelled"


async def test_it_runs_an_async_function_once_approved(env, reviewer):
    @require_approval(tool="async_job")
    async def job(n: int) -> dict:
        return {"n": n}

    reviewer(tool="async_job", approve=True)
    assert await job(4) == {"n": 4}
