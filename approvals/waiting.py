"""Waiting until an action is decided or finished, woken by the events the live pages get.

One hub per process and event loop joins the approvals group (realtime.hub); a change to a
watched action is read and rendered once, on the shared database threads, for all its waiters,
which then check their condition on that. Nothing polls the database per waiter.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser

from approvals.events import APPROVALS_GROUP
from approvals.kinds.registry import decide_only_names
from approvals.models import Action, Status
from approvals.representation import action_payload
from approvals.selectors import action_get, action_get_for
from lib.asyncdb import db_run
from realtime.hub import Hub

DECIDED = "decided"
FINISHED = "finished"
UNTIL = (DECIDED, FINISHED)
FINISHED_STATES = frozenset({Status.COMPLETED, Status.FAILED, Status.REJECTED, Status.EXPIRED, Status.CANCELLED})
MAX_TIMEOUT = 55.0


@dataclass(frozen=True)
class Snapshot:
    """An action as one read saw it: what the condition needs, and its JSON."""

    status: str
    action_type: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Waited:
    payload: dict[str, Any]
    done: bool


def _snapshot(action: Action | None) -> Snapshot | None:
    if action is None:
        return None
    return Snapshot(status=action.status, action_type=action.action_type, payload=action_payload(action))


def _read(action_id: str) -> Snapshot | None:
    return _snapshot(action_get(action_id=UUID(action_id)))


def _read_for(action_id: UUID, user: AbstractBaseUser) -> Snapshot | None:
    return _snapshot(action_get_for(action_id=action_id, user=user))


def _changed_ids(message: dict[str, Any]) -> list[str]:
    if message.get("type") == "action.changed":
        return [message["action_id"]]
    if message.get("type") == "actions.changed":
        return list(message.get("action_ids") or [])
    return []


async def _load(action_id: str) -> Snapshot | None:
    return await db_run(_read, action_id)


HUB = Hub(group=APPROVALS_GROUP, keys=_changed_ids, load=_load)


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
        snapshot = await db_run(_read_for, action_id, user)
        if snapshot is None:
            return None
        until = until or default_until(snapshot.action_type)
        while not condition_holds(snapshot.status, until):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return Waited(payload=snapshot.payload, done=False)
            try:
                snapshot = await asyncio.wait_for(watch.next_value(), remaining) or snapshot
            except TimeoutError:
                break
        else:
            return Waited(payload=snapshot.payload, done=True)
    # No event said so, but one may have been lost (a Redis reconnect): answer what is there now.
    latest = await db_run(_read, str(action_id)) or snapshot
    return Waited(payload=latest.payload, done=condition_holds(latest.status, until))
