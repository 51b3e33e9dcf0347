from __future__ import annotations

from django.apps import AppConfig


class CallbacksConfig(AppConfig):
    name = "callbacks"
    verbose_name = "Callbacks"

    def ready(self) -> None:
        from callbacks import receivers  # noqa: F401  (connects the signal receivers)
