from __future__ import annotations

from django.contrib import admin

from audit.admin import ReadOnlyAdmin
from review.models import LinkUse


@admin.register(LinkUse)
class LinkUseAdmin(ReadOnlyAdmin):
    """Read-only: a link use is written with the decision it made."""

    list_display = ("used_at", "action", "user", "decision", "channel", "nonce")
    list_filter = ("decision", "channel")
    search_fields = ("action__id", "user__username", "nonce")
