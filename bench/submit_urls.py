"""ActionHub's own URLs plus the reference submits of bench/submit.py, in the same processes."""

from django.urls import include, path

from bench import submit_views

urlpatterns = [
    path("bench/insert-floor", submit_views.insert_floor),
    path("bench/statement-floor", submit_views.statement_floor),
    path("bench/memory-submit", submit_views.memory_submit),
    path("", include("actionhub.urls")),
]
