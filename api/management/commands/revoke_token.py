"""Revoke API tokens by user and name, or by the token's visible prefix."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from api.models import ApiToken
from api.services import token_revoke


class Command(BaseCommand):
    help = "Revoke USERNAME's token named --name (default: default), or every live token with --all."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default=None, help="the token's name (default: default)")
        parser.add_argument("--prefix", default=None, help="the token's first 12 characters")
        parser.add_argument("--all", action="store_true", help="revoke all of the user's live tokens")
        parser.add_argument("--dry-run", action="store_true", help="show what would be revoked")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        tokens = ApiToken.objects.filter(user__username=username, revoked_at__isnull=True).select_related("user")
        if options["prefix"]:
            tokens = tokens.filter(prefix=options["prefix"])
        elif not options["all"]:
            tokens = tokens.filter(name=options["name"] or "default")
        tokens = list(tokens)
        if not tokens:
            raise CommandError(f"no matching live token for {username!r}")
        for token in tokens:
            if not options["dry_run"]:
                token_revoke(token=token, actor="system")
            verb = "would revoke" if options["dry_run"] else "revoked"
            self.stdout.write(self.style.SUCCESS(f"{verb} {token.name} ({token.prefix}…) of {username}"))
