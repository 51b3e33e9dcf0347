"""Deliveries are read-only here: only the delivery service writes them, and the audit says what happened."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from callbacks.models import CallbackDelivery


@admin.register(CallbackDelivery)
class CallbackDeliveryAdmin(admin.ModelAdmin):
    list_display = ("delivery_id", "action", "event", "status", "attempts", "last_status_code", "next_attempt_at")
    list_filter = ("status", "event")
    search_fields = ("delivery_id", "action__id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: CallbackDelivery | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: CallbackDelivery | None = None) -> bool:
        return False
