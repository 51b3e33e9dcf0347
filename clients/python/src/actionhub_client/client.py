"""`Client` and `AsyncClient`: submit an action, wait for its decision, report how it went, cancel it.

Both drive the same operations (`_protocol`), so they behave alike to the letter. Configure by
arguments or by ACTIONHUB_URL and ACTIONHUB_TOKEN (or ACTIONHUB_TOKEN_FILE).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import Any, TypeVar

import httpx

from actionhub_client import _protocol
from actionhub_client._protocol import Call, Operation, Pause
from actionhub_client.errors import ActionHubError, ConfigurationError
from actionhub_client.models import Action

T = TypeVar("T")

VERSION = "0.1.0"
DEFAULT_TIMEOUT = 30.0
# How long a give-up may spend telling the server (on Ctrl-C or a cancelled task).
CANCEL_TIMEOUT = 5.0
INTERRUPTED = {"reason": "its requester was interrupted"}


def _config(url: str | None, token: str | None) -> tuple[str, str]:
    url = url or os.environ.get("ACTIONHUB_URL", "")
    if not token:
        token = os.environ.get("ACTIONHUB_TOKEN", "")
        token_file = os.environ.get("ACTIONHUB_TOKEN_FILE")
        if not token and token_file:
            try:
                token = Path(token_file).read_text().strip()
            except OSError as error:
                raise ConfigurationError(f"ACTIONHUB_TOKEN_FILE could not be read: {error}") from error
    if not url:
        raise ConfigurationError("no ActionHub URL: pass url= or set ACTIONHUB_URL (e.g. http://127.0.0.1:8000)")
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"ActionHub URL must start with http:// or https://, not {url!r}")
    if not token:
        raise ConfigurationError("no API token: pass token= or set ACTIONHUB_TOKEN (manage.py issue_token USER)")
    base = url.rstrip("/")
    base = base.removesuffix("/api")
    return f"{base}/api", token


def _headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "User-Agent": f"actionhub-client/{VERSION}",
    }


def _request_args(call: Call, default_timeout: float) -> dict[str, Any]:
    timeout = default_timeout if call.timeout is None else call.timeout
    return {
        "method": call.method,
        "url": call.path,
        "params": call.params,
        "json": call.json,
        "headers": call.headers,
        "timeout": httpx.Timeout(timeout, connect=min(10.0, timeout)),
    }


def _tool_call_parameters(
    tool: str,
    input: dict[str, Any],
    *,
    agent: str | None,
    session_id: str | None,
    cwd: str | None,
    hints: dict[str, bool] | None,
) -> dict[str, Any]:
    parameters: dict[str, Any] = {"tool": tool, "input": input}
    for name, value in (("agent", agent), ("session_id", session_id), ("cwd", cwd), ("hints", hints)):
        if value:
            parameters[name] = value
    return parameters


class _Base:
    def __init__(self, url: str | None, token: str | None, timeout: float, retries: int) -> None:
        self.base_url, self._token = _config(url, token)
        self.timeout = timeout
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        delays = _protocol.RETRY_DELAYS
        self._retry_delays = delays[:retries] + (delays[-1],) * max(0, retries - len(delays))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"


class Client(_Base):
    """A blocking client. Use it as a context manager, or call `close()`.

    `retries` is how often a lost connection, a 429 or a 502/503/504 is tried again (0.5, 1, 2 and
    4 s apart); a submit is retried under its one Idempotency-Key, so never made twice."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = len(_protocol.RETRY_DELAYS),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(url, token, timeout, retries)
        self._http = httpx.Client(base_url=self.base_url, headers=_headers(self._token), transport=transport)

    def _run(self, operation: Operation[T]) -> T:
        delays = _protocol.retry_delays.set(self._retry_delays)
        try:
            step = next(operation)
            while True:
                if isinstance(step, Pause):
                    time.sleep(step.seconds)
                    step = operation.send(None)
                    continue
                try:
                    response = self._http.request(**_request_args(step, self.timeout))
                except httpx.TransportError as error:
                    step = operation.throw(error)
                else:
                    step = operation.send(response)
        except StopIteration as done:
            return done.value
        finally:
            _protocol.retry_delays.reset(delays)

    def submit(
        self,
        action_type: str,
        parameters: dict[str, Any],
        *,
        skill_id: str | None = None,
        external_id: str | None = None,
        callback_url: str | None = None,
        callback_state: Any = None,
        idempotency_key: str | None = None,
    ) -> Action:
        """Submit an action; its risk is decided by the server. Retried safely under one Idempotency-Key
        (generated unless given), so a lost reply never makes a second action."""
        return self._run(
            _protocol.submit(
                action_type=action_type,
                parameters=parameters,
                skill_id=skill_id,
                external_id=external_id,
                callback_url=callback_url,
                callback_state=callback_state,
                idempotency_key=idempotency_key,
            )
        )

    def submit_tool_call(
        self,
        tool: str,
        input: dict[str, Any],
        *,
        agent: str | None = None,
        session_id: str | None = None,
        cwd: str | None = None,
        hints: dict[str, bool] | None = None,
        external_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Action:
        """Ask whether the agent may run one of its own tools (decided here, run by the agent)."""
        parameters = _tool_call_parameters(tool, input, agent=agent, session_id=session_id, cwd=cwd, hints=hints)
        return self.submit("tool_call", parameters, external_id=external_id, idempotency_key=idempotency_key)

    def get(self, action_id: str) -> Action:
        return self._run(_protocol.get(action_id))

    def actions(
        self,
        *,
        mine: bool = True,
        status: str | None = None,
        action_type: str | None = None,
        external_id: str | None = None,
        limit: int = 50,
    ) -> list[Action]:
        """Your own actions (or, with `mine=False`, every one you may see), newest first, one page."""
        return self._run(
            _protocol.actions(mine=mine, status=status, action_type=action_type, external_id=external_id, limit=limit)
        )

    def wait(
        self, action_id: str, *, timeout: float | None = None, until: str | None = None, cancel_on_timeout: bool = True
    ) -> Action:
        """Block until the action is decided (tool calls) or finished (the rest), or `until` says.

        After `timeout` seconds (None: no limit), or on Ctrl-C, a still-pending action is cancelled
        (unless `cancel_on_timeout=False`) and returned as it then is: check `approved` or `denied`."""
        try:
            return self._run(
                _protocol.wait(action_id, timeout=timeout, until=until, cancel_on_timeout=cancel_on_timeout)
            )
        except KeyboardInterrupt:
            if cancel_on_timeout:
                self._cancel_quietly(action_id)
            raise

    def _cancel_quietly(self, action_id: str) -> None:
        with contextlib.suppress(httpx.HTTPError):
            self._http.post(f"/actions/{action_id}/cancel", json=INTERRUPTED, timeout=CANCEL_TIMEOUT)

    def outcome(self, action_id: str, *, ok: bool, output: str = "", error: str = "") -> Action:
        """Report how an approved tool call went: `completed` (ok) or `failed`."""
        return self._run(_protocol.outcome(action_id, ok=ok, output=output, error=error))

    def cancel(self, action_id: str, *, reason: str = "") -> Action:
        """Withdraw a pending action. If it was decided meanwhile, that decision is returned instead."""
        return self._run(_protocol.cancel(action_id, reason=reason))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Base):
    """The same client for asyncio. Use it as an async context manager, or `await aclose()`."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = len(_protocol.RETRY_DELAYS),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(url, token, timeout, retries)
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=_headers(self._token), transport=transport)

    async def _run(self, operation: Operation[T]) -> T:
        delays = _protocol.retry_delays.set(self._retry_delays)
        try:
            step = next(operation)
            while True:
                if isinstance(step, Pause):
                    await asyncio.sleep(step.seconds)
                    step = operation.send(None)
                    continue
                try:
                    response = await self._http.request(**_request_args(step, self.timeout))
                except httpx.TransportError as error:
                    step = operation.throw(error)
                else:
                    step = operation.send(response)
        except StopIteration as done:
            return done.value
        finally:
            _protocol.retry_delays.reset(delays)

    async def submit(
        self,
        action_type: str,
        parameters: dict[str, Any],
        *,
        skill_id: str | None = None,
        external_id: str | None = None,
        callback_url: str | None = None,
        callback_state: Any = None,
        idempotency_key: str | None = None,
    ) -> Action:
        """See `Client.submit`."""
        return await self._run(
            _protocol.submit(
                action_type=action_type,
                parameters=parameters,
                skill_id=skill_id,
                external_id=external_id,
                callback_url=callback_url,
                callback_state=callback_state,
                idempotency_key=idempotency_key,
            )
        )

    async def submit_tool_call(
        self,
        tool: str,
        input: dict[str, Any],
        *,
        agent: str | None = None,
        session_id: str | None = None,
        cwd: str | None = None,
        hints: dict[str, bool] | None = None,
        external_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Action:
        """See `Client.submit_tool_call`."""
        parameters = _tool_call_parameters(tool, input, agent=agent, session_id=session_id, cwd=cwd, hints=hints)
        return await self.submit("tool_call", parameters, external_id=external_id, idempotency_key=idempotency_key)

    async def get(self, action_id: str) -> Action:
        return await self._run(_protocol.get(action_id))

    async def actions(
        self,
        *,
        mine: bool = True,
        status: str | None = None,
        action_type: str | None = None,
        external_id: str | None = None,
        limit: int = 50,
    ) -> list[Action]:
        """See `Client.actions`."""
        return await self._run(
            _protocol.actions(mine=mine, status=status, action_type=action_type, external_id=external_id, limit=limit)
        )

    async def wait(
        self, action_id: str, *, timeout: float | None = None, until: str | None = None, cancel_on_timeout: bool = True
    ) -> Action:
        """See `Client.wait`; a cancelled task also cancels a still-pending action."""
        try:
            return await self._run(
                _protocol.wait(action_id, timeout=timeout, until=until, cancel_on_timeout=cancel_on_timeout)
            )
        except asyncio.CancelledError:
            if cancel_on_timeout:
                await asyncio.shield(self._cancel_quietly(action_id))
            raise

    async def _cancel_quietly(self, action_id: str) -> None:
        with contextlib.suppress(httpx.HTTPError):
            await self._http.post(f"/actions/{action_id}/cancel", json=INTERRUPTED, timeout=CANCEL_TIMEOUT)

    async def outcome(self, action_id: str, *, ok: bool, output: str = "", error: str = "") -> Action:
        """See `Client.outcome`."""
        return await self._run(_protocol.outcome(action_id, ok=ok, output=output, error=error))

    async def cancel(self, action_id: str, *, reason: str = "") -> Action:
        """See `Client.cancel`."""
        return await self._run(_protocol.cancel(action_id, reason=reason))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


__all__ = ["ActionHubError", "AsyncClient", "Client"]
