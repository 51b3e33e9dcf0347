"""Live audit pages hear of new entries through one group."""

from __future__ import annotations

from realtime.broadcast import publish

AUDIT_GROUP = "audit"


def audit_appended(*, seq: int) -> None:
    """Announce a new audit entry to open audit pages (auditors' sockets only join this group)."""
    publish([AUDIT_GROUP], {"type": "audit.appended", "seq": seq})
