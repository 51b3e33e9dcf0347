"""Standing rules: reviewer-made allow/deny rules that decide matching actions at submit time."""

from __future__ import annotations

from django.apps import AppConfig


class RulesConfig(AppConfig):
    name = "rules"
    default_auto_field = "django.db.models.BigAutoField"
