"""System checks of the lifecycle's settings: a bad ACTIONHUB_ACTION_KINDS entry fails at start-up
(`manage.py check`, `migrate`, `runserver`, the workers), not on the first submit."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from approvals.kinds.registry import action_kinds


@checks.register()
def check_action_kinds(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        action_kinds()
    except (ImportError, ImproperlyConfigured) as exc:
        return [
            checks.Error(str(exc), hint="Each entry is the dotted path of an ActionKind subclass.", id="actionhub.E001")
        ]
    return []
