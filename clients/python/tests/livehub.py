"""What the client's tests do as reviewers of the live ActionHub the conftest starts."""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.e2e.site import Site


def pending_of(
    hub: Site, external_id: str | None = None, tool: str | None = None, command: str | None = None
) -> dict[str, Any] | None:
    status, page = hub.api("bob", "GET", "/actions/pending?limit=200")
    assert status == 200, page
    for action in page["results"]:
        parameters = action["parameters"]
        if external_id is not None and action["external_id"] != external_id:
            continue
        if tool is not None and parameters.get("tool") != tool:
            continue
        if command is not None and (parameters.get("input") or {}).get("command") != command:
            continue
        return action
    return None


class Reviewer(threading.Thread):
    """Decides the first pending action that matches, as soon as it shows up in the queue."""

    def __init__(
        self,
        hub: Site,
        *,
        tool: str | None = None,
        external_id: str | None = None,
        command: str | None = None,
        approve: bool,
        reason: str = "",
        edit: dict | None = None,
        reviewers: tuple[str, ...] = ("bob",),
    ) -> None:
        """`edit` is merged into the parameters (by carol) first; each of `reviewers` then decides,
        as a CRITICAL action needs two of them."""
        super().__init__(daemon=True)
        self.hub, self.tool, self.external_id, self.command = hub, tool, external_id, command
        self.approve, self.reason, self.edit, self.reviewers = approve, reason, edit, reviewers
        self.decided: dict[str, Any] | None = None
        self.failure: str | None = None

    def run(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            action = pending_of(self.hub, external_id=self.external_id, tool=self.tool, command=self.command)
            if action is None:
                time.sleep(0.05)
                continue
            if self.edit is not None:
                edited = {"parameters": {**action["parameters"], **self.edit}}
                status, action = self.hub.api("carol", "POST", f"/actions/{action['id']}/edit", edited)
                if status != 200:
                    self.failure = f"edit: {status} {action}"
                    return
            body = {"approved": self.approve, "reason": self.reason, "payload_hash": action["payload_hash"]}
            for user in self.reviewers:
                status, self.decided = self.hub.api(user, "POST", f"/actions/{action['id']}/approve", body)
                if status != 200:
                    self.failure = f"decide as {user}: {status} {self.decided}"
                    return
            return
        self.failure = f"no pending {self.tool or self.external_id or self.command} showed up"
