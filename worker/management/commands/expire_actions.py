"""Expire pending actions whose time is up (workers also do this every second)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from approvals.models import Action, Status
from approvals.services import actions_expire_due


class Command(BaseCommand):
    help = "Expire every pending action past its expiry time. Expired actions never run."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="only count what would expire")

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        if dry_run:
            due = Action.objects.filter(status=Status.PENDING, expires_at__lte=timezone.now()).count()
            self.stdout.write(f"{due} pending action(s) would expire")
            return
        total = 0
        while expired := actions_expire_due():
            total += expired
        self.stdout.write(self.style.SUCCESS(f"expired {total} action(s)"))
