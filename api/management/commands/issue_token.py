"""Issue an API token for a user; the token is printed once and stored only as a hash."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.services import TokenError, token_issue


class Command(BaseCommand):
    help = "Print a new API token for USERNAME (shown once; only its hash is stored)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="default", help="a label to tell tokens apart (default: default)")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive")
        try:
            _, secret = token_issue(user=user, name=name, actor="system")
        except TokenError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(secret)
