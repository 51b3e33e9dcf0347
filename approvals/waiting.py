"""Waiting until an action is decided or finished, woken by the events the live pages get.

One hub per process and event loop joins the approvals group (realtime.hub); a change to a
watched action is read and rendered once, on the shared database threads, for all its waiters,
which then check their condition on that. Nothing polls the database per waiter.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder

from approvals.events import APPROVALS_GROUP
from approvals.kinds.registry import decide_only_names
from approvals.models import Status
from approvals.representation import action_payload
from approvals.selectors import action_get, action_visible_to
from lib.asyncdb import db_run
from realtime.hub import Hub

DECIDED = "decided"
FINISHED = "finished"
UNTIL = (DECIDED, FINISHED)
FINISHED_STATES = frozenset({Status.COMPLETED, Status.FAILED, Status.REJECTED, Status.EXPIRED, Status.CANCELLED})
MAX_TIMEOUT = 55.0


@dataclass(frozen=True)
class Snapshot:
    """An action as one read saw it: what the condition needs, and its JSON, encoded once for all
    the waiters it answers (as GET /api/actions/{id} encodes it)."""

    status: str
    action_type: str
    body: bytes


@dataclass(frozen=True)
class Waited:
    body: bytes
    done: bool


def _read(action_id: str) -> Snapshot | None:
    action = action_get(action_id=UUID(action_id))
    if action is None:
        return None
    body = json.dumps(action_payload(action), cls=DjangoJSONEncoder).encode()
    return Snapshot(status=action.status, action_type=action.action_type, body=body)


def _may_see(action_id: UUID, user: AbstractBaseUser) -> bool:
    return action_visible_to(action_id=action_id, user=user)


def _changed_ids(message: dict[str, Any]) -> list[str]:
    if message.get("type") == "action.changed":
        return [message["action_id"]]
    if message.get("type") == "actions.changed":
        return list(message.get("action_ids") or [])
    return []


async def _load(action_id: str) -> Snapshot | None:
    return await db_run(_read, action_id)


HUB = Hub(group=APPROVALS_GROUP, keys=_changed_ids, load=_load)
# Requests of this process past their first read and waiting for a change (the metrics page).
_waiting = 0


def waiting_requests() -> int:
    return _waiting


def default_until(action_type: str) -> str:
    """A decide-only action is done for its requester once decided; any other once it has run."""
    return DECIDED if action_type in decide_only_names() else FINISHED


def condition_holds(status: str, until: str) -> bool:
    if until == DECIDED:
        return status != Status.PENDING
    return status in FINISHED_STATES


async def action_wait(*, action_id: UUID, user: AbstractBaseUser, until: str | None, timeout: float) -> Waited | None:
    """The action once `until` holds for it, or as it is after `timeout` seconds; None if `user`
    may not see it. `until` None: the action's default (`default_until`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with HUB.watch(str(action_id)) as watch:  # before the first read: no change slips between
        if not await db_run(_may_see, action_id, user):
            return None
        snapshot = await watch.current() or await db_run(_read, str(action_id))
        if snapshot is None:
            return None
        until = until or default_until(snapshot.action_type)
        if condition_holds(snapshot.status, until):
            return Waited(body=snapshot.body, done=True)
        global _waiting
        _waiting += 1
        try:
            while not condition_holds(snapshot.status, until):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return Waited(body=snapshot.body, done=False)
                try:
                    snapshot = await asyncio.wait_for(watch.next_value(), remaining) or snapshot
                except TimeoutError:
                    break
            else:
                return Waited(body=snapshot.body, done=True)
        finally:
            _waiting -= 1
    # No event said so, but one may have been lost (a Redis reconnect): answer what is there now.
    latest = await db_run(_read, str(action_id)) or snapshot
    return Waited(body=latest.body, done=condition_holds(latest.status, until))
