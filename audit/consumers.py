"""/ws/audit/: pushes new audit entries to open history pages, auditors and staff only.

A socket carries the page's filters in its query string (the same form as the page); each new
entry is rendered once per web process (and time zone of its readers) and sent to the sockets whose filters it matches.
Sockets close when their session logs out, and re-check the user's role now and then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from audit import events
from audit.forms import AuditFilterForm
from audit.models import AuditEntry
from audit.presentation import entry_html
from audit.selectors import action_levels, audit_entry_get
from lib.moments import zone_of_session
from lib.roles import is_auditor
from realtime.consumers import SessionConsumer, SharedRenders

# One render per entry per process, shared by every audit socket of this process.
_renders = SharedRenders()


@dataclass(frozen=True)
class RenderedEntry:
    entry: AuditEntry
    level: str | None
    html: str


def render_entry(*, seq: int, zone: str) -> RenderedEntry | None:
    """The entry's line with its time in `zone`, as the history page shows it to that zone's readers."""
    entry = audit_entry_get(seq=seq)
    if entry is None:
        return None
    level = action_levels([entry.action_id]).get(str(entry.action_id)) if entry.action_id else None
    with timezone.override(ZoneInfo(zone)):
        html = entry_html(entry=entry, level=level)
    return RenderedEntry(entry=entry, level=level, html=f'<ol id="audit-list" hx-swap-oob="afterbegin">{html}</ol>')


class AuditConsumer(SessionConsumer):
    def allowed(self) -> bool:
        form = AuditFilterForm({name: values[0] for name, values in self.query.items() if values})
        if not form.is_valid() or not is_auditor(self.user):
            return False
        self.filters = form.filters()
        self.zone = zone_of_session(self.scope.get("session"))
        return True

    def groups_to_join(self) -> list[str]:
        return [events.AUDIT_GROUP]

    async def audit_appended(self, event: dict[str, Any]) -> None:
        if not await self.allowed_now():
            return
        seq = int(event["seq"])
        rendered = await _renders.get((seq, self.zone), render_entry, seq=seq, zone=self.zone)
        if rendered is not None and self.filters.matches(entry=rendered.entry, security_level=rendered.level):
            await self.send(text_data=rendered.html)
