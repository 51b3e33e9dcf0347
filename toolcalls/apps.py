from __future__ import annotations

from django.apps import AppConfig


class ToolcallsConfig(AppConfig):
    name = "toolcalls"
    verbose_name = "Tool calls"

    def ready(self) -> None:
        from toolcalls import checks  # noqa: F401 - registers the system check
