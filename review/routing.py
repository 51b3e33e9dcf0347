"""Websocket routes of the approvals app."""

from __future__ import annotations

from django.urls import path

from review.consumers import ApprovalsConsumer

websocket_urlpatterns = [
    path("ws/approvals/", ApprovalsConsumer.as_asgi()),
]
