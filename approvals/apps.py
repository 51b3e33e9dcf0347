from __future__ import annotations

from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        from approvals import checks, receivers  # noqa: F401 - registers the system checks and receivers
        from approvals.reporting import AuditSubjects
        from audit import subjects

        subjects.register(AuditSubjects())
