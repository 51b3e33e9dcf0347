from __future__ import annotations

from django.apps import AppConfig


class WorkerConfig(AppConfig):
    name = "worker"
    verbose_name = "Workers"

    def ready(self) -> None:
        from worker import receivers  # noqa: F401  (connects the signal receivers)
