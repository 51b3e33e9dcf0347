"""Logging out closes the sockets that session opened."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from realtime.broadcast import session_ended


@receiver(user_logged_out)
def close_sockets_on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    session_key = getattr(session, "session_key", None)
    if session_key:
        # Django sends this signal before it deletes the session. A page whose socket closes
        # checks at once whether its session is still there, so the session goes first (logout's
        # own flush then finds nothing left to delete); otherwise the check can win the race,
        # find the session alive and leave the page open with no socket.
        session.flush()
        session_ended(session_key=session_key)
