"""Where a submitter asks to be told of its action's decision and finish: `callback_url` (under
ACTIONHUB_CALLBACK_ALLOWLIST, stored in its normal form) and `callback_state` (any JSON, echoed
back). Neither is part of the payload hash: they say who hears of the action, not what it does."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from approvals.exceptions import InvalidParameters
from audit.chain import canonical_json
from lib.urlnorm import InvalidURL, normalize_url, url_allowed

MAX_STATE_BYTES = 4096
MAX_URL_LENGTH = 2000  # Action.callback_url's column


def callback_clean(*, url: Any, state: Any) -> tuple[str, Any]:
    """(normal URL or "", state) for the action; InvalidParameters naming the field otherwise."""
    if url is None or url == "":
        if state is not None:
            raise _invalid("callback_state", "is sent only to a callback_url; name one or leave callback_state out")
        return "", None
    if not settings.ACTIONHUB_CALLBACK_SECRET:
        raise _invalid("callback_url", "callbacks are off: ACTIONHUB_CALLBACK_SECRET is not configured")
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        raise _invalid("callback_url", f"must be a URL string of at most {MAX_URL_LENGTH} characters")
    try:
        normal = normalize_url(url).text
    except InvalidURL as exc:
        raise _invalid("callback_url", str(exc)) from None
    if len(normal) > MAX_URL_LENGTH or not url_allowed(normal, settings.ACTIONHUB_CALLBACK_ALLOWLIST):
        raise _invalid("callback_url", "is not under any ACTIONHUB_CALLBACK_ALLOWLIST entry")
    if state is not None and len(canonical_json(state).encode()) > MAX_STATE_BYTES:
        raise _invalid("callback_state", f"must be at most {MAX_STATE_BYTES} bytes as canonical JSON")
    return normal, state


def _invalid(field: str, message: str) -> InvalidParameters:
    return InvalidParameters(f"invalid {field}: {message}", errors={field: message})
