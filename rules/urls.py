"""Rule pages under /approvals/rules/."""

from __future__ import annotations

from django.urls import path

from rules import views

app_name = "rules"

urlpatterns = [
    path("", views.rule_list, name="list"),
    path("new/<uuid:action_id>/", views.rule_new_from_action, name="new_from_action"),
    path("new/<uuid:action_id>/preview/", views.rule_preview_for_action, name="preview_for_action"),
    path("<int:rule_id>/edit/", views.rule_edit_page, name="edit"),
    path("<int:rule_id>/preview/", views.rule_preview_for_rule, name="preview_for_rule"),
    path("<int:rule_id>/disable/", views.rule_disable_view, name="disable"),
]
