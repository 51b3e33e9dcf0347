"""Review pages under /approvals/: the queue, My requests, an action's detail."""

from __future__ import annotations

from django.urls import path

from review import views

app_name = "approvals"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("decide/", views.bulk_decide, name="bulk"),
    path("decide/confirm/", views.bulk_confirm, name="bulk_confirm"),
    path("mine/", views.mine, name="mine"),
    path("<uuid:action_id>/", views.detail, name="detail"),
    path("<uuid:action_id>/decide/", views.decide, name="decide"),
    path("<uuid:action_id>/confirm/", views.confirm, name="confirm"),
    path("<uuid:action_id>/edit/", views.edit, name="edit"),
    path("<uuid:action_id>/changes/", views.changes, name="changes"),
    path("link/<str:token>/", views.link, name="link"),
    path("preferences/alert-sound/", views.alert_sound, name="alert_sound"),
]
