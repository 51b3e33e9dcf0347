from __future__ import annotations

from django.contrib import admin

from skills.models import SkillState


@admin.register(SkillState)
class SkillStateAdmin(admin.ModelAdmin):
    list_display = ("skill_id", "enabled", "updated_at", "updated_by")
    readonly_fields = ("skill_id", "enabled", "updated_at", "updated_by")

    def has_add_permission(self, request) -> bool:
        return False
