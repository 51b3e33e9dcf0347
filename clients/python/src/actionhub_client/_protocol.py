"""Each client operation once, as a generator of HTTP calls and pauses, for the sync and async drivers.

An operation yields `Call` (the driver sends it and sends back the `httpx.Response`, or throws the
`httpx.TransportError`) or `Pause` (the driver sleeps), and returns its result. The retry, the
Retry-After handling and the wait loop are therefore written once for `Client` and `AsyncClient`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Generator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from actionhub_client.errors import APIError, Conflict, ConnectionFailed, RateLimited, ServerError, api_error
from actionhub_client.models import Action

T = TypeVar("T")

# The server answers a wait after at most 55 s, under the 60 s many proxies and clients allow.
MAX_POLL = 55.0
# Beyond the server's own wait, how long a reply may take to arrive.
READ_MARGIN = 10.0
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)
# The delays of the client driving the operation (Client(retries=…)): set by its driver for each run.
retry_delays: ContextVar[tuple[float, ...]] = ContextVar("retry_delays", default=RETRY_DELAYS)
MAX_RETRY_AFTER = 30.0
RETRIED_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, str] | None = None
    json: Any = None
    headers: dict[str, str] | None = None
    # Seconds to wait for the reply; None is the client's default.
    timeout: float | None = None


@dataclass(frozen=True)
class Pause:
    seconds: float


Operation = Generator["Call | Pause", "httpx.Response | None", T]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, min(float(value), MAX_RETRY_AFTER))
    except ValueError:
        return None


def raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        detail, errors = body["detail"], body.get("errors")
    else:
        detail, errors = f"HTTP {response.status_code} {response.reason_phrase}".strip(), None
    raise api_error(response.status_code, detail, errors, retry_after=_retry_after(response))


def send(call: Call, *, retry: bool = True, deadline: float | None = None) -> Operation[httpx.Response]:
    """One call, retried (when `retry`) after a connection failure, a 429 or a 502/503/504, a few
    times and never past `deadline`. Raises the API's error, or ConnectionFailed."""
    attempts = iter(retry_delays.get() if retry else ())
    while True:
        try:
            response = yield call
        except httpx.TransportError as error:
            failure: Exception = ConnectionFailed(f"could not reach ActionHub: {error.__class__.__name__}: {error}")
            delay = next(attempts, None)
        else:
            assert response is not None
            if response.status_code not in RETRIED_STATUSES:
                raise_for_status(response)
                return response
            try:
                raise_for_status(response)
            except (RateLimited, ServerError) as error:
                failure = error
            delay = next(attempts, None)
            if delay is not None and (wanted := _retry_after(response)) is not None:
                delay = max(delay, wanted)
        if delay is None or (deadline is not None and time.monotonic() + delay > deadline):
            raise failure
        yield Pause(delay)


def submit(
    *,
    action_type: str,
    parameters: dict[str, Any],
    skill_id: str | None = None,
    external_id: str | None = None,
    callback_url: str | None = None,
    callback_state: Any = None,
    idempotency_key: str | None = None,
) -> Operation[Action]:
    body: dict[str, Any] = {"action_type": action_type, "parameters": parameters}
    for name, value in (
        ("skill_id", skill_id),
        ("external_id", external_id),
        ("callback_url", callback_url),
        ("callback_state", callback_state),
    ):
        if value is not None:
            body[name] = value
    # The same key on every retry: a submit that reached the server but lost its reply is never made twice.
    headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
    response = yield from send(Call("POST", "/actions", json=body, headers=headers))
    return Action.from_json(response.json())


def get(action_id: str) -> Operation[Action]:
    response = yield from send(Call("GET", f"/actions/{action_id}"))
    return Action.from_json(response.json())


def actions(
    *,
    mine: bool = True,
    status: str | None = None,
    action_type: str | None = None,
    external_id: str | None = None,
    limit: int = 50,
) -> Operation[list[Action]]:
    params = {"limit": str(limit)}
    if mine:
        params["mine"] = "1"
    for name, value in (("status", status), ("action_type", action_type), ("external_id", external_id)):
        if value is not None:
            params[name] = value
    response = yield from send(Call("GET", "/actions", params=params))
    return [Action.from_json(item) for item in response.json()["results"]]


def cancel(action_id: str, *, reason: str = "") -> Operation[Action]:
    """Cancel a pending action. One that was decided meanwhile is returned as it is, not as an error:
    a decision that beat the cancel still stands, and the caller reads it."""
    try:
        response = yield from send(Call("POST", f"/actions/{action_id}/cancel", json={"reason": reason}))
    except Conflict:
        return (yield from get(action_id))
    return Action.from_json(response.json())


def outcome(action_id: str, *, ok: bool, output: str = "", error: str = "") -> Operation[Action]:
    body = {"ok": ok, "output": output} if ok else {"ok": ok, "error": error}
    try:
        response = yield from send(Call("POST", f"/actions/{action_id}/outcome", json=body))
    except Conflict:
        # A retry after a lost reply finds it reported already; anything else is the caller's conflict.
        action = yield from get(action_id)
        if action.status in ("completed", "failed"):
            return action
        raise
    return Action.from_json(response.json())


def wait(
    action_id: str,
    *,
    timeout: float | None = None,
    until: str | None = None,
    cancel_on_timeout: bool = True,
) -> Operation[Action]:
    """The action once `until` holds (the server's default: decided for tool calls, finished for the
    rest). After `timeout` seconds (None: no limit) a still-pending action is cancelled, so nobody
    approves a request nobody waits for, and returned as it is then."""
    if timeout is not None and timeout < 0:
        raise ValueError("timeout must be at least 0 seconds")
    deadline = None if timeout is None else time.monotonic() + timeout
    params = {} if until is None else {"until": until}
    while True:
        remaining = MAX_POLL if deadline is None else deadline - time.monotonic()
        poll = max(0.0, min(MAX_POLL, remaining))
        call = Call(
            "GET",
            f"/actions/{action_id}/wait",
            params={**params, "timeout": f"{poll:.3f}"},
            timeout=poll + READ_MARGIN,
        )
        try:
            response = yield from send(call, deadline=deadline)
        except APIError as error:
            if not isinstance(error, (RateLimited, ServerError)):
                raise
            response = None
        except ConnectionFailed:
            if deadline is not None and time.monotonic() >= deadline:
                raise
            response = None
        if response is not None:
            action = Action.from_json(response.json())
            if "Retry-After" not in response.headers:
                return action
        if deadline is not None and time.monotonic() >= deadline:
            break
        pause = _retry_after(response) if response is not None else None
        pause = 1.0 if pause is None else pause
        yield Pause(pause if deadline is None else max(0.0, min(pause, deadline - time.monotonic())))
    if cancel_on_timeout:
        waited = "a moment" if not timeout else f"{timeout:g} s"
        return (yield from cancel(action_id, reason=f"its requester stopped waiting after {waited}"))
    return (yield from get(action_id))
