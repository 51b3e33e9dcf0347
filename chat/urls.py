"""Chat pages under /chat/."""

from __future__ import annotations

from django.urls import path

from chat import views

app_name = "chat"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.start, name="start"),
    path("models/", views.models, name="models"),
    path("<uuid:conversation_id>/", views.conversation, name="conversation"),
    path("<uuid:conversation_id>/send/", views.send, name="send"),
    path("<uuid:conversation_id>/rename/", views.rename, name="rename"),
    path("<uuid:conversation_id>/delete/", views.delete, name="delete"),
    path("<uuid:conversation_id>/messages/<uuid:action_id>/", views.message, name="message"),
    path("<uuid:conversation_id>/messages/<uuid:action_id>/stop/", views.stop, name="stop"),
]
