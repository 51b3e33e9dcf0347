"""The first user: `admin`, superuser in every group, created only while there are no users at all."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = (
        "Create the user admin (superuser, in every group) if there are no users; prints its password once "
        "(ACTIONHUB_ADMIN_PASSWORD or _FILE sets it instead). Does nothing once any user exists."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--url", default="", help="the address to name in the log-in hint")

    def handle(self, *args: Any, url: str, **options: Any) -> None:
        user_model = get_user_model()
        with transaction.atomic():
            if user_model.objects.exists():
                self.stdout.write("users exist: no first admin created")
                return
            password = settings.ACTIONHUB_ADMIN_PASSWORD or secrets.token_urlsafe(12)
            admin = user_model.objects.create_superuser("admin", "", password)
            admin.groups.set(Group.objects.all())
        shown = "(from ACTIONHUB_ADMIN_PASSWORD)" if settings.ACTIONHUB_ADMIN_PASSWORD else password
        where = f" at {url}/" if url else ""
        self.stdout.write(self.style.SUCCESS("Created the first user: admin (superuser, in every group)"))
        self.stdout.write(f"  log in{where} as admin with password {shown}")
        self.stdout.write("  this password is shown only once; change it in the admin")
