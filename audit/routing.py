"""Websocket routes of the audit app."""

from __future__ import annotations

from django.urls import path

from audit.consumers import AuditConsumer

websocket_urlpatterns = [
    path("ws/audit/", AuditConsumer.as_asgi()),
]
