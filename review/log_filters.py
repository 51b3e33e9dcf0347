"""Logging filters: what must never reach a log line."""

from __future__ import annotations

import logging
import re

_LINK_TOKEN = re.compile(r"(/approvals/link/)[^/\s?#]+")


class RedactLinkTokens(logging.Filter):
    """Mask one-tap link tokens in any record (Django logs the path of every refused request).

    A token alone decides nothing (it needs its reviewer's session and a POST), but it is a
    credential all the same, so logs carry only `/approvals/link/…/`.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/approvals/link/" in message:
            record.msg, record.args = _LINK_TOKEN.sub(r"\1…", message), ()
        return True
