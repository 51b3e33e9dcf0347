"""Rules in the admin, read-only: changes go through the rule pages so they are audited."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from rules.models import Rule


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ("id", "effect", "action_type", "skill_id", "hit_count", "last_hit_at", "expires_at", "disabled_at")
    list_filter = ("effect", "action_type")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Rule | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Rule | None = None) -> bool:
        return False
