"""`@require_approval`: a function that runs only once ActionHub approves the call.

The call is submitted as a `tool_call` whose `input` is the function's arguments (defaults filled
in, so the reviewer sees the whole call). Approved: the function runs, with the reviewer's edited
arguments if they edited them, and its outcome is reported. Rejected, expired or cancelled: it does
not run, and the caller gets `"denied by <who>: <reason>"` back (or `ActionDenied` raised), which a
model reads as the tool's answer.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from actionhub_client.client import AsyncClient, Client
from actionhub_client.errors import ActionDenied, ActionHubError
from actionhub_client.models import Action

log = logging.getLogger("actionhub_client")

F = TypeVar("F", bound=Callable[..., Any])
MAX_REPORT = 100_000
# The bound instance of a method is not an argument anyone approves.
_RECEIVERS = ("self", "cls")


def _arguments(signature: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[list, dict]:
    """(receiver, input): the call's arguments by name, as JSON, with defaults filled in."""
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    receiver: list[Any] = []
    arguments: dict[str, Any] = {}
    for index, (name, value) in enumerate(bound.arguments.items()):
        kind = signature.parameters[name].kind
        if index == 0 and name in _RECEIVERS:
            receiver.append(value)
        elif kind is inspect.Parameter.VAR_KEYWORD:
            arguments.update(value)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            arguments[name] = list(value)
        else:
            arguments[name] = value
    try:
        json.dumps(arguments)
    except (TypeError, ValueError) as error:
        raise TypeError(f"the arguments must be JSON to be shown to a reviewer: {error}") from error
    return receiver, arguments


def _call_with(signature: inspect.Signature, receiver: list[Any], arguments: dict[str, Any]) -> tuple[list, dict]:
    """Positional and keyword arguments for the (possibly edited) input; TypeError if they do not fit."""
    remaining = dict(arguments)
    positional: list[Any] = list(receiver)
    keywords: dict[str, Any] = {}
    var_keyword = False
    for index, (name, parameter) in enumerate(signature.parameters.items()):
        if index == 0 and receiver:
            continue
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            var_keyword = True
        elif name not in remaining:
            continue
        elif parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            positional.append(remaining.pop(name))
        elif parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            positional.extend(remaining.pop(name))
        else:
            keywords[name] = remaining.pop(name)
    if remaining and not var_keyword:
        raise TypeError(f"unknown argument {', '.join(sorted(remaining))}")
    keywords.update(remaining)
    signature.bind(*positional, **keywords)
    return positional, keywords


def _report_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:MAX_REPORT]


class _Approval:
    def __init__(
        self,
        func: Callable[..., Any],
        *,
        client: Client | AsyncClient | None,
        tool: str | None,
        agent: str | None,
        hints: dict[str, bool] | None,
        timeout: float | None,
        raise_on_deny: bool,
    ) -> None:
        self.func = func
        self.signature = inspect.signature(func)
        self.client = client
        self.tool = tool or func.__name__
        self.agent = agent
        self.hints = hints
        self.timeout = timeout
        self.raise_on_deny = raise_on_deny

    def denied(self, action: Action) -> str:
        if action.status == "cancelled" and self.timeout is not None:
            message = f"denied by ActionHub: no reviewer decided within {self.timeout:g} s"
        else:
            message = action.denial()
        if self.raise_on_deny:
            raise ActionDenied(message, action)
        return message

    def submission(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        receiver, arguments = _arguments(self.signature, args, kwargs)
        return receiver, {"tool": self.tool, "input": arguments, "agent": self.agent, "hints": self.hints}

    def edited_call(self, receiver: list[Any], action: Action) -> tuple[list, dict] | str:
        """The call to make (approved arguments), or why it cannot be made."""
        try:
            return _call_with(self.signature, receiver, action.parameters.get("input") or {})
        except TypeError as error:
            return f"the approved arguments do not fit {self.tool}: {error}"


def require_approval(
    func: F | None = None,
    *,
    client: Client | AsyncClient | None = None,
    tool: str | None = None,
    agent: str | None = None,
    hints: dict[str, bool] | None = None,
    timeout: float | None = None,
    raise_on_deny: bool = False,
) -> Any:
    """Run the decorated function (sync or async) only once ActionHub approves the call.

    `tool` names it for reviewers and rules (default: the function's name). `timeout` is how long to
    wait for a decision (None: until one is made); on timeout the request is cancelled and treated
    as denied. Without `client`, one is made from ACTIONHUB_URL and ACTIONHUB_TOKEN at the first call.
    """

    def decorate(function: F) -> F:
        approval = _Approval(
            function, client=client, tool=tool, agent=agent, hints=hints, timeout=timeout, raise_on_deny=raise_on_deny
        )
        if inspect.iscoroutinefunction(function):
            return functools.wraps(function)(_async_wrapper(approval))  # type: ignore[return-value]
        return functools.wraps(function)(_sync_wrapper(approval))  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate


def _sync_wrapper(approval: _Approval) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if approval.client is None:
            approval.client = Client()
        client = approval.client
        if not isinstance(client, Client):
            raise TypeError("a plain function needs a Client, not an AsyncClient")
        receiver, submission = approval.submission(args, kwargs)
        action = client.submit_tool_call(**submission)
        action = client.wait(action.id, timeout=approval.timeout, until="decided")
        if not action.approved:
            return approval.denied(action)
        call = approval.edited_call(receiver, action)
        if isinstance(call, str):
            _report(lambda: client.outcome(action.id, ok=False, error=call))
            return call
        try:
            result = approval.func(*call[0], **call[1])
        except Exception as error:
            failure = _report_text(f"{type(error).__name__}: {error}")
            _report(lambda: client.outcome(action.id, ok=False, error=failure))
            raise
        _report(lambda: client.outcome(action.id, ok=True, output=_report_text(result)))
        return result

    return wrapper


def _async_wrapper(approval: _Approval) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if approval.client is None:
            approval.client = AsyncClient()
        client = approval.client
        if not isinstance(client, AsyncClient):
            raise TypeError("an async function needs an AsyncClient, not a Client")
        receiver, submission = approval.submission(args, kwargs)
        action = await client.submit_tool_call(**submission)
        action = await client.wait(action.id, timeout=approval.timeout, until="decided")
        if not action.approved:
            return approval.denied(action)
        call = approval.edited_call(receiver, action)
        if isinstance(call, str):
            await _areport(client.outcome(action.id, ok=False, error=call))
            return call
        try:
            result = await approval.func(*call[0], **call[1])
        except Exception as error:
            await _areport(client.outcome(action.id, ok=False, error=_report_text(f"{type(error).__name__}: {error}")))
            raise
        await _areport(client.outcome(action.id, ok=True, output=_report_text(result)))
        return result

    return wrapper


def _report(send: Callable[[], Any]) -> None:
    """An outcome that cannot be reported must not hide the function's own result."""
    try:
        send()
    except ActionHubError as error:
        log.warning("could not report the outcome to ActionHub: %s", error)


async def _areport(sending: Any) -> None:
    try:
        await sending
    except ActionHubError as error:
        log.warning("could not report the outcome to ActionHub: %s", error)
