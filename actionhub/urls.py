"""Top-level routes: pages, the JSON API, auth pages, admin and metrics."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from api.api import urls as api_urls
from api.metrics import metrics
from health import views as health_views
from review import views as review_views

urlpatterns = [
    path("", review_views.home, name="home"),
    path("approvals/rules/", include("rules.urls")),
    path("approvals/", include("review.urls")),
    path("chat/", include("chat.urls")),
    path("status/", health_views.status_page, name="status"),
    path("preferences/", review_views.preferences, name="preferences"),
    path("audit/", include("audit.urls")),
    path("api/", api_urls),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("metrics", metrics, name="metrics"),
]
