"""Per-installation state of skills whose definitions live in manifest files."""

from __future__ import annotations

from django.db import models


class SkillState(models.Model):
    skill_id = models.CharField(max_length=100, primary_key=True)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.skill_id} ({'enabled' if self.enabled else 'disabled'})"
