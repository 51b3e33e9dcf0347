"""/ws/approvals/: pushes rendered fragments to open queue and detail pages.

Queue sockets (reviewers only) get the changed rows their reviewer may decide (routing:
approvals/assignment.py), or their removal, plus fresh counts; a socket opened with
`?action=<id>` (anyone who may see that action) gets its live detail panel; one opened with
`?mine=1` (any user; optional `status` and `type` as the page's filters) gets the My requests rows
of their own actions still on their way, and a new row for each action they submit from then on.
Sockets close when their session logs out.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from channels.db import database_sync_to_async

from approvals import events
from approvals.assignment import viewer_for
from approvals.kinds.registry import kind_names
from approvals.models import Status
from approvals.selectors import QUEUE_LEVELS, action_get_for
from lib.moments import zone_of_session
from lib.roles import is_reviewer
from realtime.consumers import SessionConsumer, SharedRenders
from review.fragments import (
    MINE_WATCHED,
    detail_fragment,
    mine_new_row,
    mine_open_ids,
    mine_rows,
    queue_counts_html,
    queue_rows,
)

logger = logging.getLogger(__name__)

# One render per broadcast per process, shared by every queue socket of this process: the rows
# under (sent, ids), the counts under (sent, viewer key).
_renders = SharedRenders()


class ApprovalsConsumer(SessionConsumer):
    def groups_to_join(self) -> list[str]:
        if self.mine:
            return [
                events.requester_group(self.user.pk),
                *(events.action_group(action_id) for action_id in self.mine_open),
            ]
        return [events.action_group(self.action_id) if self.action_id else events.APPROVALS_GROUP]

    def allowed(self) -> bool:
        self.mine = self.query_value("mine") == "1"
        if self.mine:
            self.mine_status = self.query_value("status") or None
            self.mine_type = self.query_value("type") or None
            if self.mine_status not in (None, *Status.values) or self.mine_type not in (None, *kind_names()):
                return False
            # Only actions still on their way can change; a finished one's row stays as it is.
            self.mine_open = mine_open_ids(user=self.user, limit=MINE_WATCHED)
            return True
        self.action_id = self.query_value("action")
        self.seen_hash = self.query_value("seen")
        self.zone = zone_of_session(self.scope.get("session"))
        self.level = self.query_value("level") or None
        self.action_type = self.query_value("type") or None
        self.assigned_only = self.query_value("assigned") == "me"
        if self.action_id is not None:
            try:
                action_id = UUID(self.action_id)
            except ValueError:
                return False
            return action_get_for(action_id=action_id, user=self.user) is not None
        if self.level not in (None, *QUEUE_LEVELS) or self.action_type not in (None, *kind_names()):
            return False
        self.viewer = viewer_for(self.user)
        return is_reviewer(self.user)

    async def action_changed(self, event: dict[str, Any]) -> None:
        await self._changed([event["action_id"]], event.get("sent", 0.0))

    async def actions_changed(self, event: dict[str, Any]) -> None:
        """Many actions changed at once (a bulk decision): one message with every row."""
        await self._changed(event["action_ids"], event.get("sent", 0.0))

    async def _changed(self, action_ids: list[str], sent: float) -> None:
        if not await self.allowed_now():
            return
        if self.mine:
            await self._mine_changed(action_ids)
            return
        if self.action_id is not None:
            html = await database_sync_to_async(detail_fragment)(
                action_id=self.action_id, user=self.user, seen_hash=self.seen_hash, zone=self.zone
            )
        else:
            html = await self._queue_html(action_ids, sent)
        if html:
            await self.send(text_data=html)

    async def _queue_html(self, action_ids: list[str], sent: float) -> str:
        rows = await _renders.get(("rows", sent, tuple(action_ids)), queue_rows, action_ids=action_ids)
        parts = [
            row.for_socket(
                viewer=self.viewer, level=self.level, action_type=self.action_type, assigned_only=self.assigned_only
            )
            for row in rows
        ]
        if not any(parts):  # nothing this reviewer may see changed, so neither did their counts
            return ""
        counts = await _renders.get(("counts", sent, self.viewer.key), queue_counts_html, viewer=self.viewer)
        return "".join(parts) + counts

    async def _mine_changed(self, action_ids: list[str]) -> None:
        """The requester's rows of these actions; a row that reached its end is no longer watched."""
        watched = [action_id for action_id in action_ids if action_id in self.mine_open]
        if not watched:
            return
        html, finished = await database_sync_to_async(mine_rows)(action_ids=watched, user=self.user)
        for action_id in finished:
            self.mine_open.discard(action_id)
            await self.leave(events.action_group(action_id))
        if html:
            await self.send(text_data=html)

    async def action_created(self, event: dict[str, Any]) -> None:
        """A new action of this requester's: its row goes on top, and its changes are followed."""
        action_id = event["action_id"]
        if not self.mine or action_id in self.mine_open or not await self.allowed_now():
            return
        # Joined before the row is read, so no change between the two is missed.
        await self.join(events.action_group(action_id))
        html, still_open = await database_sync_to_async(mine_new_row)(
            action_id=action_id, user=self.user, status=self.mine_status, action_type=self.mine_type
        )
        if still_open:
            self.mine_open.add(action_id)
        else:
            await self.leave(events.action_group(action_id))
        if html:
            await self.send(text_data=html)
