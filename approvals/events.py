"""Outbound events about actions: the action groups and payload shapes live here only.

Services call these from inside the transaction that made the change (realtime.broadcast writes
them in that transaction or sends them on commit), or just after a change that was one statement
committed by itself, where they are sent after commit anyway (`sent_after_commit`).
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator
from uuid import UUID

from lib.once import once_at_end
from realtime.broadcast import broadcasts_held, publish, written_in_transaction

APPROVALS_GROUP = "approvals"

# Inside `queue_changes_coalesced()`: the ids whose queue rows changed, announced together at its end.
_coalesced: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("coalesced_queue_changes", default=None)


def action_group(action_id: UUID | str) -> str:
    return f"action.{action_id}"


def requester_group(user_id: int) -> str:
    """The sockets of one requester's My requests pages: they hear of each new action of theirs."""
    return f"requester.{user_id}"


@contextlib.contextmanager
def announced_together() -> Iterator[None]:
    """Everything announced inside leaves in one send at the end (a change committed by itself
    announces its entry, its requester's pages and the queues at once, not one send each)."""
    with broadcasts_held():
        yield


def sent_after_commit() -> bool:
    """Whether these events leave after the commit of the change they announce (Redis), so a change
    made in one statement of its own may announce it after that statement."""
    return not written_in_transaction()


def action_created(*, action_id: UUID | str, requester_id: int) -> None:
    """Tell the requester's open My requests pages of a new action (its changes follow on its own group)."""
    message = {"type": "action.created", "action_id": str(action_id), "sent": time.time()}
    publish([requester_group(requester_id)], message)


def action_changed(*, action_id: UUID | str, status: str, new: bool = False) -> None:
    """Announce a change to an action. `sent` identifies this one broadcast, so a web process
    renders it once for all its clients. A `new` action (announced as it is created) goes to the
    queues only: nothing can listen on its own group before its id is known."""
    message = {"type": "action.changed", "action_id": str(action_id), "status": status, "sent": time.time()}
    batch = _coalesced.get()
    if batch is None:
        publish([APPROVALS_GROUP] if new else [APPROVALS_GROUP, action_group(action_id)], message)
    elif str(action_id) not in batch:
        batch.append(str(action_id))


@contextlib.contextmanager
def queue_changes_coalesced() -> Iterator[None]:
    """Changes to many actions (a bulk decision) are announced as one `actions.changed` broadcast
    at the end, so each web process renders the rows and counts once, each queue socket gets one
    message, not one per action, and the request sends once instead of once per action (what else
    their transactions broadcast is held to that send too: realtime.broadcast.broadcasts_held). Use it
    outside the per-action transactions: the broadcast follows their commits."""
    if _coalesced.get() is not None:  # already inside a batch: the outer one announces
        yield
        return
    batch: list[str] = []
    token = _coalesced.set(batch)
    # Everything else the transactions inside broadcast (their audit entries) leaves with it, at once,
    # and the workers are woken once for all the tasks they queued.
    with once_at_end(), broadcasts_held():
        try:
            yield
        finally:
            _coalesced.reset(token)
            if batch:
                actions_changed(action_ids=batch)


def actions_changed(*, action_ids: list[str]) -> None:
    """Announce that these actions changed, to the queues and to each action's own pages
    (see queue_changes_coalesced)."""
    message = {"type": "actions.changed", "action_ids": action_ids, "sent": time.time()}
    publish([APPROVALS_GROUP, *(action_group(action_id) for action_id in action_ids)], message)
