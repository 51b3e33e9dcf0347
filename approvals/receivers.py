"""A change to a runtime setting, a route or a group makes every process reread them (approvals/runtime.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.core.signals import setting_changed
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from approvals import assignment
from approvals.models import RoutingRule, RuntimeSetting
from approvals.runtime import config_changed


@receiver([post_save, post_delete], sender=RuntimeSetting)
@receiver([post_save, post_delete], sender=RoutingRule)
@receiver([post_save, post_delete], sender=Group)
@receiver(m2m_changed, sender=RoutingRule.groups.through)
def reread_configuration(sender: Any, **kwargs: Any) -> None:
    if kwargs.get("action", "post_").startswith("post_"):  # m2m_changed: once, after the change
        config_changed()


@receiver(setting_changed)
def reread_routes_of_settings(sender: Any, setting: str, **kwargs: Any) -> None:
    if setting == "ACTIONHUB_ROUTING":
        assignment.routes_forget()
