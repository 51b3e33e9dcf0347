"""Who notifications can reach: the reviewers (and escalation group members) without an email address."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q

from lib.roles import REVIEWERS


def notification_reach() -> dict[str, Any]:
    """How many active reviewers (superusers included) email can reach, and the names of those it cannot,
    and the same for the escalation group. A user without an address is never a recipient."""
    users = get_user_model().objects.filter(is_active=True)
    reviewers = users.filter(Q(is_superuser=True) | Q(groups__name=REVIEWERS)).distinct()
    escalation = users.filter(groups__name=settings.ACTIONHUB_ESCALATION_GROUP).distinct()
    return {
        "reviewers": _reach(reviewers),
        "escalation": {"group": settings.ACTIONHUB_ESCALATION_GROUP, **_reach(escalation)},
    }


def _reach(users: Any) -> dict[str, Any]:
    unreachable = list(users.filter(email="").order_by("username").values_list("username", flat=True))
    return {"total": users.count(), "unreachable": len(unreachable), "unreachable_names": unreachable}
