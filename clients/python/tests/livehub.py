"""What the client's tests do as reviewers of the live ActionHub the conftest starts."""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.e2e.site import Site


def pending_of(hub: Site, external_id: str | None = None, tool: str | None = None) -> dict[str, Any] | None:
    status, page = hub.api("bob", "GET", "/actions/pending?limit=200")
    assert status == 200, page
    for action in page["results"]:
        parameters = action["parameters"]
        if external_id is not None and action["external_id"] != external_id:
            continue
        if tool is not None and parameters.get("tool") != tool:
            continue
        return action
    return None


class Reviewer(threading.Thread):
    """Decides the first pending action that matches, as soon as it shows up in the queue."""

    def __init__(self, hub: Site, *, tool: str, approve: bool, reason: str = "", edit: dict | None = None) -> None:
        super().__init__(daemon=True)
        self.hub, self.tool, self.approve, self.reason, self.edit = hub, tool, approve, reason, edit
        self.decided: dict[str, Any] | None = None
        self.failure: str | None = None

    def run(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            action = pending_of(self.hub, tool=self.tool)
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
            status, self.decided = self.hub.api("bob", "POST", f"/actions/{action['id']}/approve", body)
            if status != 200:
                self.failure = f"decide: {status} {self.decided}"
            return
        self.failure = f"no pending {self.tool} showed up"
