"""The adapters' common ground: asking ActionHub about a batch of calls, and what its decision on
each means (run it, run it as edited, or refuse)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from actionhub_client.client import AsyncClient, Client
from actionhub_client.errors import ActionHubError
from actionhub_client.models import Action

GAVE_UP = "its requester stopped waiting: another request of the same batch failed"
UNAPPLIED = "which this request does not allow"


@dataclass(frozen=True)
class Call:
    """One call an adapter asks about: its name and arguments, and what `submit_tool_call` gets."""

    name: str
    args: dict[str, Any]
    submission: dict[str, Any]


@dataclass(frozen=True)
class Verdict:
    """`kind` is approve, edit (run `args`, the reviewer's) or refuse. `message` says why not, for a
    refusal; for an edit, it is the refusal to give where the edited call cannot be run."""

    kind: str
    name: str
    args: dict[str, Any]
    message: str = ""


def verdict(
    name: str,
    args: dict[str, Any],
    action: Action,
    *,
    timeout: float | None = None,
    unapplied: str = UNAPPLIED,
) -> Verdict:
    """What `action`, ActionHub's decision on the call `name(args)`, means. `timeout` is how long
    the wait was (for the message when nobody decided in time); `unapplied` ends the refusal of an
    edit that cannot be applied."""
    if not action.approved:
        if action.status == "cancelled" and timeout is not None:
            return Verdict("refuse", name, args, f"denied by ActionHub: no reviewer decided within {timeout:g} s")
        return Verdict("refuse", name, args, action.denial())
    by = ", ".join(action.decision.by) or "ActionHub"
    approved_name = action.parameters.get("tool", name)
    approved_args = action.parameters.get("input")
    if not isinstance(approved_args, dict):
        approved_args = args
    if approved_name != name:
        return Verdict("refuse", name, args, f"denied by {by}: approved only as a call to {approved_name}, not {name}")
    if approved_args != args:
        changed = json.dumps(approved_args, sort_keys=True)
        refusal = f"denied by {by}: approved only with changed arguments {changed}, {unapplied}"
        return Verdict("edit", name, approved_args, f"{refusal}; the call as made was not approved")
    return Verdict("approve", name, args)


def _asked_again(call: Call, cancelled: Action) -> dict[str, Any]:
    """A call whose Idempotency-Key replays a withdrawn request (its asker gave up, then came back,
    e.g. after a restart) is asked again, under a key of its own."""
    return {**call.submission, "idempotency_key": f"{call.submission['idempotency_key']}:{cancelled.id}"}


def decide_all(
    client: Client, calls: Sequence[Call], *, timeout: float | None, unapplied: str = UNAPPLIED
) -> list[Verdict]:
    """Submit every call, then wait for each decision. Every request reaches the queue before the
    first wait, so reviewers see a batch together; if any submit or wait fails, the requests still
    pending are withdrawn before the error is raised, so nobody decides what nobody waits for."""
    actions: list[Action] = []
    verdicts: list[Verdict] = []
    try:
        for call in calls:
            action = client.submit_tool_call(**call.submission)
            while action.status == "cancelled" and call.submission.get("idempotency_key"):
                action = client.submit_tool_call(**_asked_again(call, action))
            actions.append(action)
        for call, action in zip(calls, actions, strict=True):
            decided = client.wait(action.id, timeout=timeout, until="decided")
            verdicts.append(verdict(call.name, call.args, decided, timeout=timeout, unapplied=unapplied))
    except BaseException:
        for action in actions[len(verdicts) :]:
            with contextlib.suppress(ActionHubError):
                client.cancel(action.id, reason=GAVE_UP)
        raise
    return verdicts


async def adecide_all(
    client: AsyncClient, calls: Sequence[Call], *, timeout: float | None, unapplied: str = UNAPPLIED
) -> list[Verdict]:
    """`decide_all` for asyncio: the submits, then the waits, run together."""

    async def submit(call: Call) -> Action:
        action = await client.submit_tool_call(**call.submission)
        while action.status == "cancelled" and call.submission.get("idempotency_key"):
            action = await client.submit_tool_call(**_asked_again(call, action))
        return action

    submitted = await asyncio.gather(*(submit(call) for call in calls), return_exceptions=True)
    actions = [result for result in submitted if isinstance(result, Action)]
    if failure := next((result for result in submitted if isinstance(result, BaseException)), None):
        for action in actions:
            with contextlib.suppress(ActionHubError):
                await client.cancel(action.id, reason=GAVE_UP)
        raise failure
    # A cancelled wait withdraws its own pending request.
    waits = [asyncio.ensure_future(client.wait(action.id, timeout=timeout, until="decided")) for action in actions]
    try:
        decided = await asyncio.gather(*waits)
    except BaseException:
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        raise
    return [
        verdict(call.name, call.args, action, timeout=timeout, unapplied=unapplied)
        for call, action in zip(calls, decided, strict=True)
    ]
