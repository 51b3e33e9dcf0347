"""How audit entries read on the pages and over the socket: one HTML item per entry.

Built with format_html rather than a template: a page shows 50 entries with a dozen values
each, and the template engine's per-variable work (localising numbers and dates) was most of
the page's time at a million entries.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from django.urls import get_script_prefix, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from audit.models import AuditEntry
from lib.jsontext import pretty_json
from lib.moments import moment

_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
# Enough to tell entries apart on their line; the full data unfolds below it.
SUMMARY_CHARS = 160


@lru_cache(maxsize=16)
def _url_template(name: str, prefix: str) -> str:
    # reverse() is a tenth of a page's time when called twice per entry; resolve each URL once.
    return reverse(name, args=[_PLACEHOLDER])


def _action_url(name: str, action_id: object) -> str:
    return _url_template(name, get_script_prefix()).replace(_PLACEHOLDER, str(action_id))


def entry_html(*, entry: AuditEntry, level: str | None) -> SafeString:
    """One entry's line, its time in the current zone (the site's one format), unfolding to its data."""
    action = ""
    if entry.action_id:
        badge = format_html('<span class="badge badge-{}">{}</span> ', level, level) if level else ""
        action = format_html(
            '<span class="entry-action">{}<a href="{}" title="every entry of this action">timeline</a>'
            ' · <a href="{}" class="mono">{}</a></span>',
            badge,
            _action_url("audit:timeline", entry.action_id),
            _action_url("approvals:detail", entry.action_id),
            str(entry.action_id)[:8],
        )
    return format_html(
        '<li id="entry-{seq}" class="entry" data-seq="{seq}">\n'
        '  <details class="entry-body"><summary class="entry-head"><span class="seq">#{seq}</span>'
        " {at}"
        ' <span class="actor" title="actor">{actor}</span> <code class="event">{event}</code>'
        ' <span class="entry-summary">{summary}</span></summary>\n'
        '  <pre class="json entry-data" tabindex="0" aria-label="data of entry {seq}">{data}</pre></details>\n'
        "  {action}\n"
        "</li>\n",
        seq=str(entry.seq),
        at=moment(entry.at),
        actor=entry.actor,
        event=entry.event,
        summary=data_summary(entry.data),
        action=action,
        data=pretty_json(entry.data),
    )


def data_summary(data: Any, *, limit: int = SUMMARY_CHARS) -> str:
    """An entry's data on one line: its top-level keys with their values, cut at `limit` characters."""
    if isinstance(data, dict):
        parts = (f"{key}: {_compact(value)}" for key, value in sorted(data.items()))
        text = " · ".join(parts)
    else:
        text = _compact(data)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return " ".join(value.split())
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def entries_html(entries: list[AuditEntry], levels: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"entry": entry, "html": entry_html(entry=entry, level=levels.get(str(entry.action_id)))} for entry in entries
    ]
