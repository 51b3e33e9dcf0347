"""At login, the session takes the person's chosen time zone, so pages and sockets read it without a query."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from lib.moments import DEFAULT_ZONE, SESSION_KEY
from review.models import ReviewerPreference


@receiver(user_logged_in, dispatch_uid="review.time_zone_to_session")
def time_zone_to_session(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    zone = ReviewerPreference.objects.filter(user=user).values_list("time_zone", flat=True).first()
    if zone and zone != DEFAULT_ZONE:
        request.session[SESSION_KEY] = zone
    else:
        request.session.pop(SESSION_KEY, None)
