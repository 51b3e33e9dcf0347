"""Create a user with roles from the command line (the admin does the same in a browser)."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

ROLES = ("reviewers", "auditors", "rule_admins")


class Command(BaseCommand):
    help = "Create USERNAME, optionally in --role reviewers/auditors (repeatable); prints the password once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", action="append", choices=ROLES, default=[], help="group to join")
        parser.add_argument("--staff", action="store_true", help="may use the admin and read internals")
        parser.add_argument("--email", default="", help="address notifications of held actions go to")

    def handle(self, *args: Any, username: str, role: list[str], staff: bool, email: str, **options: Any) -> None:
        users = get_user_model()
        if email:
            try:
                validate_email(email)
            except ValidationError as exc:
                raise CommandError(f"not an email address: {email!r}") from exc
        if users.objects.filter(username=username).exists():
            raise CommandError(f"user {username!r} already exists")
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            user = users.objects.create_user(username=username, password=password, email=email, is_staff=staff)
            user.groups.set([Group.objects.get_or_create(name=name)[0] for name in role])
        roles = ", ".join(role) or "no role"
        self.stdout.write(self.style.SUCCESS(f"created {username} ({roles}); password: {password}"))
