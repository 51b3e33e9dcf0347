"""Audit history pages under /audit/."""

from __future__ import annotations

from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.history, name="history"),
    path("actions/<uuid:action_id>/", views.timeline, name="timeline"),
    path("export.csv", views.export_csv, name="export_csv"),
    path("export.jsonl", views.export_jsonl, name="export_jsonl"),
]
